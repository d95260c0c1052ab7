// Which samples form a group (a prompt's G outputs), and how both backends walk them: every
// per-group statistic runs over a group's members in ascending sample order, and results stay in
// sample order, so contiguous groups given by ids compute exactly what a groupSize computes.
#pragma once

#include <cstdint>

#include "otca_hd.h"

namespace otca {

// - Contiguous groups of one size (`groupSize` in the API): size > 0, the arrays null; sample i is
//   in group i / size.
// - Any groups (`groupIds`): size 0; group b's members are members[offsets[b] .. offsets[b+1]),
//   ascending; groupOf[i] is sample i's group. Host memory for the CPU backend, device memory for
//   the CUDA backend. Built from ids by GroupIndex (otca.h).
struct Groups {
  int64_t count = 0;  // B
  int64_t size = 0;
  const int64_t* offsets = nullptr;  // [count + 1]
  const int64_t* members = nullptr;  // [N]
  const int64_t* groupOf = nullptr;  // [N]
};

OTCA_HD int64_t group_size(const Groups& g, int64_t b) {
  return g.size > 0 ? g.size : g.offsets[b + 1] - g.offsets[b];
}
// The m-th member of group b, m < group_size(g, b).
OTCA_HD int64_t group_member(const Groups& g, int64_t b, int64_t m) {
  return g.size > 0 ? b * g.size + m : g.members[g.offsets[b] + m];
}
OTCA_HD int64_t group_of(const Groups& g, int64_t i) { return g.size > 0 ? i / g.size : g.groupOf[i]; }

}  // namespace otca
