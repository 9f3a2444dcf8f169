/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The retry decision of the kernel engine: DESIGN.md's algorithm in C.
 *
 * This is the kernel's counterpart of the userspace retry unit
 * (src/core/retry_unit.*): the same decisions, guards, schedule, deadline,
 * budget and statistics, written against the same ABI headers. It decides and
 * counts; the caller (ftsc_hook.c) runs the original syscall and sleeps. It
 * uses nothing of the kernel but fixed-width types and compiler atomics, so
 * the same file also builds as plain C11 in userspace, where a conformance
 * test (tests/kernel/decide_conformance_test.cc) runs it side by side with
 * the C++ unit on random policies and results and requires identical
 * decisions and identical statistics tables.
 *
 *	struct ftsc_call call;
 *	ftsc_call_begin(&call, nr, budget_word, seed);
 *	for (;;) {
 *		int inj = ftsc_call_inject(policy, &call, attempt_number);
 *		long r = inj ? -inj : original(regs);
 *		d = ftsc_call_result(&ctx, &call, args, r, &probe, now_ns);
 *		if (!d.retry)
 *			return r;
 *		sleep d.delay_ns unless a signal comes; on a signal:
 *			ftsc_call_interrupted(&ctx, &call, waited); return r;
 *		ftsc_call_waited(&ctx, &call, waited);
 *	}
 */
#ifndef FTSC_KMOD_DECIDE_H
#define FTSC_KMOD_DECIDE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stdint.h>
#endif

#include "abi/compiled_policy.h"
#include "abi/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a decision was taken; the same order and meaning as core::Reason. */
enum ftsc_reason {
	FTSC_R_SUCCESS,
	FTSC_R_RETRY,
	FTSC_R_RESTART_CODE,
	FTSC_R_NEVER_RETRY_SYSCALL,
	FTSC_R_PROGRAM_BUG,
	FTSC_R_NO_RULE,
	FTSC_R_POLICY_NEVER,
	FTSC_R_UNDECIDED,
	FTSC_R_PROTOCOL,
	FTSC_R_OBSERVE,
	FTSC_R_BUDGET,
	FTSC_R_SCHEDULE_EXHAUSTED,
	FTSC_R_DEADLINE,
	FTSC_R_INTERRUPTED,
	/* Not in core::Reason: the policy was detached while the call waited. */
	FTSC_R_DETACHED,
};

struct ftsc_verdict {
	bool retry;		/* wait delay_ns, then re-execute */
	uint8_t reason;		/* enum ftsc_reason */
	uint16_t guard;		/* FTSC_R_PROTOCOL: the FTSC_SC_GUARD_* bit */
	int64_t delay_ns;	/* retry: the wait; observe and budget: the wait it would be */
};

/* ftsc_call.flags */
#define FTSC_CALL_ENDED (1u << 0)	/* the call's outcome is counted */

/* One call in flight, on the caller's stack. */
struct ftsc_call {
	long nr;
	int first_errno;	/* 0 until an attempt failed */
	int last_errno;		/* what the program gets if the call ends now */
	uint32_t attempts;
	uint32_t retries;	/* retries decided; the position in the schedule */
	int64_t waited_ns;
	int64_t first_failure_ns;
	uint64_t rng;		/* jitter's splitmix64 state */
	int pending_inject;
	uint32_t flags;
	uint64_t *budget;	/* the process's circuit breaker word, or NULL */
	struct ftsc_stats_slot *slot;
};

/* What every decision reads: the policy, the statistics, the mode. */
struct ftsc_decide_ctx {
	const struct ftsc_policy *policy;	/* validated */
	struct ftsc_stats *stats;		/* may be NULL */
	bool observe;				/* observe mode or dry run */
};

/* Run-time facts about the calling process's fds; asked lazily, as in core. */
struct ftsc_probe {
	bool (*fd_nonblocking)(void *data, int fd);
	bool (*socket_timeout)(void *data, int fd, bool send);
	void *data;
};

void ftsc_call_begin(struct ftsc_call *call, long nr, uint64_t *budget,
		     uint64_t seed);

/* The errno to inject into attempt number `attempt` instead of running it. */
int ftsc_call_inject(const struct ftsc_policy *p, struct ftsc_call *call,
		     uint64_t attempt);

/* Decides on the raw result of an attempt (-errno, or a success). */
struct ftsc_verdict ftsc_call_result(const struct ftsc_decide_ctx *ctx,
				      struct ftsc_call *call,
				      const uint64_t args[6], long result,
				      const struct ftsc_probe *probe,
				      int64_t now_ns);

void ftsc_call_waited(const struct ftsc_decide_ctx *ctx,
		      struct ftsc_call *call, int64_t waited_ns);

/* A pending signal ended the wait: the program gets call->last_errno. */
struct ftsc_verdict ftsc_call_interrupted(const struct ftsc_decide_ctx *ctx,
					   struct ftsc_call *call,
					   int64_t waited_ns);

/* The policy was detached during the wait: the program gets the last error. */
struct ftsc_verdict ftsc_call_detached(const struct ftsc_decide_ctx *ctx,
					struct ftsc_call *call,
					int64_t waited_ns);

/* The circuit breaker (core::RetryBudget): 0 ok, 1 refused, 2 tripped now. */
enum ftsc_charge { FTSC_CHARGE_OK, FTSC_CHARGE_REFUSED, FTSC_CHARGE_TRIPPED };
enum ftsc_charge ftsc_budget_charge(uint64_t *word, int64_t now_ns,
				    int64_t delay_ns, uint64_t window_ns,
				    uint64_t max_wait_ns);

#ifdef __cplusplus
}
#endif

#endif /* FTSC_KMOD_DECIDE_H */
