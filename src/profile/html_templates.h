// SPDX-License-Identifier: Apache-2.0
// The fixed parts of the profile's HTML report (html.cc fills in the data):
// the page's head and style sheet, the charts' geometry and colours, and the
// script that records what the browser drew, so that a headless browser's DOM
// dump shows whether the charts were laid out.
#pragma once

#include <cstddef>
#include <string_view>

namespace ftsc::profile::html {

inline constexpr size_t kMaxSyscalls = 40;   // rows of the successes/failures chart
inline constexpr size_t kMaxBreakdown = 25;  // rows of the errno chart
inline constexpr int kLabelWidth = 170;
inline constexpr int kPlotWidth = 620;
inline constexpr int kRow = 26;

// A palette that tells errnos apart, in order of first use.
inline constexpr const char* kPalette[] = {"#c0392b", "#2471a3", "#d68910", "#7d3c98", "#17a589",
                                           "#a04000", "#2e4053", "#b7950b", "#cb4335", "#5b2c6f"};

inline constexpr std::string_view kHead =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";

inline constexpr std::string_view kStyle =
    "<style>\n"
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:940px;color:#222}\n"
    "h1{font-size:1.35em}h2{font-size:1.1em;margin-top:2em}\n"
    ".chart text{font:12px system-ui,sans-serif}.label{text-anchor:end}\n"
    ".tick{text-anchor:middle;fill:#777}.grid{stroke:#e3e3e3}\n"
    ".ok{fill:#4c9a2a}.failed{fill:#c0392b}.value{fill:#333}\n"
    ".key{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;"
    "vertical-align:-.1em}.key.ok{background:#4c9a2a}.key.failed{background:#c0392b}\n"
    "table{border-collapse:collapse;margin-top:.5em}td,th{padding:.15em .7em;"
    "border-bottom:1px solid #eee;text-align:left}td.n{text-align:right}\n"
    "</style>\n</head>\n<body>\n";

inline constexpr std::string_view kDrawnBarsScript =
    "<script>\n"
    "document.documentElement.dataset.drawnBars = Array.from("
    "document.querySelectorAll('#outcomes rect.bar')).filter("
    "function (r) { return r.getBoundingClientRect().width > 0; }).length;\n"
    "</script>\n";

inline constexpr std::string_view kTail = "</body>\n</html>\n";

}  // namespace ftsc::profile::html
