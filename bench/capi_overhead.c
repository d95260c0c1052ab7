/* The host time of one otca_run of the C ABI (libotca.so) on bench/host-overhead.ts's tiny case
 * (N = 2, T = 1, D = 8, K = 3, groups of 2, the same values, default options, the advantages only):
 * what a front end over the ABI (Python through ctypes) adds its own overhead to. Median over 41
 * rounds of the mean of 2000 calls, after 5000 warm-up calls, as the Node benchmark does.
 * Built by CMake (otca_capi_bench, on demand): build/otca_capi_bench. Prints one line and
 * BENCH_CAPI_HOST {...}. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../csrc/capi/otca.h"

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  enum { N = 2, T = 1, D = 8, K = 3, G = 2, ROUNDS = 41, BATCH = 2000 };
  float latents[N * (T + 1) * D], rewards[N * K], advantages[N * T];
  for (int k = 0; k < N * (T + 1) * D; ++k) latents[k] = (float)sin(k + 1);
  for (int k = 0; k < N * K; ++k) rewards[k] = (float)cos(k);
  otca_plan* plan = NULL;
  if (otca_plan_create(NULL, -1, &plan) != OTCA_OK) {
    fprintf(stderr, "otca_plan_create: %s\n", otca_last_error());
    return 1;
  }
  otca_latents l;
  memset(&l, 0, sizeof l);
  l.struct_size = sizeof l;
  l.dtype = OTCA_FLOAT32;
  l.N = N;
  l.T = T;
  l.D = D;
  l.data = latents;
  otca_rewards r;
  memset(&r, 0, sizeof r);
  r.struct_size = sizeof r;
  r.dtype = OTCA_FLOAT32;
  r.N = N;
  r.K = K;
  r.data = rewards;
  otca_groups g;
  memset(&g, 0, sizeof g);
  g.struct_size = sizeof g;
  g.group_size = G;
  otca_outputs o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.data[OTCA_OUT_ADVANTAGES] = advantages;
  for (int k = 0; k < 5000; ++k) otca_run(plan, OTCA_KIND_ADVANTAGES, &l, &r, NULL, &g, &o);
  double times[ROUNDS];
  for (int round = 0; round < ROUNDS; ++round) {
    const double t0 = now_us();
    for (int k = 0; k < BATCH; ++k)
      if (otca_run(plan, OTCA_KIND_ADVANTAGES, &l, &r, NULL, &g, &o) != OTCA_OK) {
        fprintf(stderr, "otca_run: %s\n", otca_last_error());
        return 1;
      }
    times[round] = (now_us() - t0) / BATCH;
  }
  qsort(times, ROUNDS, sizeof times[0], cmp);
  printf("otca_run, tiny case (N=%d, T=%d, D=%d, K=%d), libotca %s: median %.3f us per call\n", N, T, D, K,
         otca_version(), times[ROUNDS / 2]);
  printf("BENCH_CAPI_HOST {\"otca_run\": %.4f, \"advantages\": [%.6g, %.6g]}\n", times[ROUNDS / 2], advantages[0],
         advantages[1]);
  otca_plan_destroy(plan);
  return 0;
}
