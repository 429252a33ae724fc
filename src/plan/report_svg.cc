// A horizontal bar chart comparing chips, written as plain SVG 1.1 text.
#include <algorithm>
#include <string>

#include "pivot/error.h"
#include "pivot/plan_report.h"

namespace pivot::plan {
namespace {

std::string esc(const std::string& s) {
  std::string r;
  for (char c : s) {
    switch (c) {
      case '&':
        r += "&amp;";
        break;
      case '<':
        r += "&lt;";
        break;
      case '>':
        r += "&gt;";
        break;
      case '"':
        r += "&quot;";
        break;
      default:
        r += c;
    }
  }
  return r;
}

std::string fmt_rate(double x) {
  if (!known(x)) return "n/a";
  if (x >= 1000) return strprintf("%.1fk", x / 1000);
  if (x >= 10) return strprintf("%.0f", x);
  return strprintf("%.2f", x);
}

}  // namespace

std::string compare_svg(const std::vector<Plan>& plans, const std::string& title) {
  const int label_w = 230, bar_w = 520, right_w = 210, row_h = 46, top = 70, bottom = 40;
  const int width = label_w + bar_w + right_w;
  const int height = top + int(plans.size()) * row_h + bottom;
  double max_v = 0;
  for (const auto& p : plans) {
    const ServingPlan& s = p.serving;
    if (known(s.decode_tokens_per_s_per_chip))
      max_v = std::max(max_v, s.decode_tokens_per_s_per_chip);
    if (known(s.output_tokens_per_s_per_chip))
      max_v = std::max(max_v, s.output_tokens_per_s_per_chip);
  }
  if (max_v <= 0) max_v = 1;
  std::string o;
  o += strprintf(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height, width, height);
  o += strprintf("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height);
  o += strprintf("<text x=\"12\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s</text>\n",
                 esc(title).c_str());
  o += strprintf(
      "<rect x=\"12\" y=\"38\" width=\"12\" height=\"10\" fill=\"#2b6cb0\"/>"
      "<text x=\"30\" y=\"47\">decode tokens/s per chip (at the batch)</text>\n"
      "<rect x=\"300\" y=\"38\" width=\"12\" height=\"10\" fill=\"#dd8452\"/>"
      "<text x=\"318\" y=\"47\">output tokens/s per chip (prefill + decode)</text>\n");
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan& p = plans[i];
    const int y = top + int(i) * row_h;
    const ServingPlan& s = p.serving;
    o += strprintf("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", label_w - 8, y + 14,
                   esc(p.chip.id).c_str());
    o += strprintf(
        "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#666\" font-size=\"10\">"
        "%d chip%s, tp %d%s</text>\n",
        label_w - 8, y + 28, p.chips, p.chips == 1 ? "" : "s", p.in.tp,
        known(p.mem.capacity) && !p.mem.fits ? ", does not fit" : "");
    const double vals[2] = {s.decode_tokens_per_s_per_chip, s.output_tokens_per_s_per_chip};
    const char* colors[2] = {"#2b6cb0", "#dd8452"};
    for (int k = 0; k < 2; ++k) {
      const int by = y + 4 + k * 16;
      if (!known(vals[k])) {
        o += strprintf("<text x=\"%d\" y=\"%d\" fill=\"#999\">n/a (missing inputs)</text>\n",
                       label_w + 4, by + 11);
        continue;
      }
      const double w = std::max(1.0, vals[k] / max_v * (bar_w - 50));  // room for the label
      o += strprintf("<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"13\" fill=\"%s\"/>\n",
                     label_w, by, w, colors[k]);
      o += strprintf("<text x=\"%.1f\" y=\"%d\">%s</text>\n", label_w + w + 4, by + 11,
                     fmt_rate(vals[k]).c_str());
    }
    std::string right = known(s.ttft_ms) && known(s.tpot_ms)
                            ? strprintf("TTFT %.0f ms, TPOT %.1f ms", s.ttft_ms, s.tpot_ms)
                            : "TTFT/TPOT n/a";
    o += strprintf("<text x=\"%d\" y=\"%d\" fill=\"#333\">%s</text>\n", label_w + bar_w + 10,
                   y + 20, esc(right).c_str());
  }
  o += strprintf(
      "<text x=\"12\" y=\"%d\" fill=\"#666\" font-size=\"10\">pivot plan: roofline "
      "model with stated efficiency factors; catalog numbers carry their sources and "
      "confidence (data/accelerators.json)</text>\n",
      height - 14);
  o += "</svg>\n";
  return o;
}

}  // namespace pivot::plan
