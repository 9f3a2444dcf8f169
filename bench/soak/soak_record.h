/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The soak's wire and file format, shared by the server, the clients and the
 * checker (bench/soak.sh runs them).
 *
 * A record is a header and 1 to SOAK_PAYLOAD_MAX bytes of payload. The payload
 * of (client, seq) is a fixed function of the two, so the checker can tell an
 * intact record from a damaged one without keeping a copy; the checksum covers
 * the header's other fields and the payload, so the server rejects a record
 * that arrived damaged. The server appends records to its flat file in this
 * same format, one after another. An acknowledgement names the record it
 * acknowledges.
 */
#ifndef FTSC_BENCH_SOAK_RECORD_H
#define FTSC_BENCH_SOAK_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define SOAK_RECORD_MAGIC 0x4b414f53u /* "SOAK" */
#define SOAK_ACK_MAGIC 0x4b434153u    /* "SACK" */
#define SOAK_PAYLOAD_MAX 1024u
#define SOAK_MAX_CLIENTS 64u

struct soak_header {
  uint32_t magic;
  uint32_t client;
  uint64_t seq; /* from 1 */
  uint32_t len; /* payload bytes */
  uint32_t crc; /* soak_crc() of client, seq, len and the payload */
};

struct soak_ack {
  uint32_t magic;
  uint32_t client;
  uint64_t seq;
};

#ifdef __cplusplus
static_assert(sizeof(struct soak_header) == 24, "soak_header layout");
static_assert(sizeof(struct soak_ack) == 16, "soak_ack layout");
#else
_Static_assert(sizeof(struct soak_header) == 24, "soak_header layout");
_Static_assert(sizeof(struct soak_ack) == 16, "soak_ack layout");
#endif

static inline uint64_t soak_mix(uint64_t x) { /* splitmix64 */
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* The payload of (client, seq): its length, and its bytes written to out. */
static inline uint32_t soak_payload(uint32_t client, uint64_t seq, unsigned char* out) {
  uint64_t state = soak_mix(((uint64_t)client << 48) ^ seq);
  uint32_t len = 1u + (uint32_t)(state % SOAK_PAYLOAD_MAX);
  uint32_t i;
  for (i = 0; i < len; i++) {
    if (i % 8 == 0)
      state = soak_mix(state);
    out[i] = (unsigned char)(state >> (8 * (i % 8)));
  }
  return len;
}

/* CRC-32 (IEEE), bitwise: the soak's records are small. */
static inline uint32_t soak_crc_update(uint32_t crc, const void* data, size_t n) {
  const unsigned char* p = (const unsigned char*)data;
  size_t i;
  int bit;
  crc = ~crc;
  for (i = 0; i < n; i++) {
    crc ^= p[i];
    for (bit = 0; bit < 8; bit++)
      crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

static inline uint32_t soak_crc(const struct soak_header* h, const unsigned char* payload) {
  uint32_t crc = soak_crc_update(0, &h->client, sizeof h->client);
  crc = soak_crc_update(crc, &h->seq, sizeof h->seq);
  crc = soak_crc_update(crc, &h->len, sizeof h->len);
  return soak_crc_update(crc, payload, h->len);
}

#endif /* FTSC_BENCH_SOAK_RECORD_H */
