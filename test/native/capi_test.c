/* The C ABI's test: C99 against csrc/capi/otca.h only, linked to libotca.so as a front end is.
 *   - every entry point; the option table, names and kinds;
 *   - random cases (every option, dtype, layout, groups by size, ids or index, both phases): the
 *     bits of otca_run equal the core's own CPU call (capi_reference.cpp) and phase 1 + phase 2
 *     equal the whole step;
 *   - bad options and inputs: the status, the exact message and the argument it names;
 *   - several threads running one plan at once, each getting its own case's bits; the last error
 *     per thread;
 *   - backend info; the CUDA entry points' refusals where no device is usable.
 * The CMake target otca_capi_test_asan runs the same under AddressSanitizer + UBSan (leaks too).
 * Prints "capi_test: all passed" and exits 0, or prints FAIL lines and exits 1. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../csrc/capi/otca.h"
#include "capi_reference.h"

static int g_checks = 0, g_failures = 0;

static void expect(int ok, const char* what) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  printf("FAIL %s\n", what);
}

/* A call's status, message and argument against the expected ones. */
static void expect_error(otca_status got, otca_status want, const char* message, const char* argument,
                         const char* what) {
  char line[1024];
  snprintf(line, sizeof line, "%s: status %d (want %d), \"%s\" (want \"%s\"), argument \"%s\" (want \"%s\")", what,
           (int)got, (int)want, otca_last_error(), message ? message : "*", otca_last_error_argument(), argument);
  expect(got == want && (message == NULL || strcmp(otca_last_error(), message) == 0) &&
             strcmp(otca_last_error_argument(), argument) == 0,
         line);
}

static uint64_t g_rng = 88172645463325252ull;
static uint64_t next_u64(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}
static double uniform(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }
static int64_t below(int64_t n) { return (int64_t)(next_u64() % (uint64_t)n); }

/* float -> bfloat16 / float16 bits (round to nearest even; finite, normal-range inputs only). */
static uint16_t to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static uint16_t to_f16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const int32_t e = (int32_t)((u >> 23) & 0xff) - 127 + 15;
  if (e <= 0) return (uint16_t)sign; /* tiny: zero (the test's values are >= 2^-10) */
  uint32_t m = (u & 0x7fffffu) >> 13;
  const uint32_t rest = u & 0x1fffu;
  uint32_t h = sign | ((uint32_t)e << 10) | m;
  if (rest > 0x1000u || (rest == 0x1000u && (m & 1u))) ++h;
  return (uint16_t)h;
}

/* ------------------------------------------------------------------------------ a random case */

static const char* const kTemporal[] = {"tcd", "uniform"};
static const char* const kWeightScale[] = {"mean", "sum"};
static const char* const kObjective[] = {"moca", "min-norm", "weighted-advantage", "weighted-reward"};
static const char* const kStdScope[] = {"group", "batch"};
static const char* const kExploration[] = {"absolute", "centered"};
static const char* const kFusedNormalization[] = {"none", "group", "batch"};
static const char* const kStdStabilizer[] = {"add", "floor"};

typedef struct Case {
  int64_t N, T, D, K, group_size;
  int dtype, reward_dtype, list, by_ids;
  ref_options ref;
  double weights[6], scale[6];
  void* latents;          /* [N, T+1, D] */
  void* states[40];       /* the list layout: copies of each state, [N, D] */
  const void* state_ptrs[40];
  void* rewards;
  int32_t* ids;
  float* expected[OTCA_OUTPUT_COUNT];
  otca_options* options;
} Case;

static int64_t output_size(const Case* c, int k) {
  const int64_t N = c->N, T = c->T, K = c->K;
  const int64_t n[OTCA_OUTPUT_COUNT] = {N * (T + 1), N * T, N * T, N * T, N, N * K, N, N, N * K, N, N * T};
  return n[k];
}

static size_t esize(int dtype) { return dtype == OTCA_FLOAT32 ? 4 : dtype == OTCA_FLOAT64 ? 8 : 2; }

static void make_case(Case* c, int index) {
  memset(c, 0, sizeof *c);
  const int64_t groups = 1 + below(4);
  const int64_t G = 1 + below(5);
  c->N = groups * G;
  c->T = 1 + below(index % 7 == 3 ? 36 : 6);
  c->D = 1 + below(index % 5 == 0 ? 5000 : 300);
  c->K = 1 + below(5);
  c->dtype = (int[]){OTCA_FLOAT32, OTCA_FLOAT16, OTCA_BFLOAT16}[below(3)];
  c->reward_dtype = below(2) ? OTCA_FLOAT64 : OTCA_FLOAT32;
  c->list = (int)below(2);
  c->by_ids = (int)below(3) == 0;
  c->group_size = c->by_ids ? 0 : G;
  ref_options* r = &c->ref;
  r->temporal = (int)below(2);
  r->weight_scale = (int)below(2);
  r->objective = (int)below(4);
  r->std_scope = (int)below(2);
  r->exploration = (int)below(2);
  r->std_correction = (int)below(2);
  r->threads = (int)below(4);
  r->min_weight = below(3) ? uniform() : 0.5;
  r->adv_clip = below(2) ? 0.5 + 4 * uniform() : 5;
  r->eps_adv = 1e-8;
  r->eps_tcd = below(2) ? 1e-6 : 1e-3;
  r->eps_moca = 1e-6;
  r->eps_solver = 1e-8;
  r->fused_normalization = (int)below(3);
  r->std_stabilizer = (int)below(2);
  r->fused_clip = below(2) ? 0.5 + 3 * uniform() : INFINITY;
  otca_options_create(&c->options);
  otca_options_set_enum(c->options, "fusedNormalization", kFusedNormalization[r->fused_normalization]);
  otca_options_set_enum(c->options, "stdStabilizer", kStdStabilizer[r->std_stabilizer]);
  otca_options_set_number(c->options, "fusedClip", r->fused_clip);
  otca_options_set_enum(c->options, "temporal", kTemporal[r->temporal]);
  otca_options_set_enum(c->options, "weightScale", kWeightScale[r->weight_scale]);
  otca_options_set_enum(c->options, "objective", kObjective[r->objective]);
  otca_options_set_enum(c->options, "stdScope", kStdScope[r->std_scope]);
  otca_options_set_enum(c->options, "explorationSignal", kExploration[r->exploration]);
  otca_options_set_number(c->options, "stdCorrection", r->std_correction);
  otca_options_set_number(c->options, "threads", r->threads);
  otca_options_set_number(c->options, "minWeight", r->min_weight);
  otca_options_set_number(c->options, "advClip", r->adv_clip);
  otca_options_set_number(c->options, "epsTcd", r->eps_tcd);
  if (below(2)) {
    for (int k = 0; k < c->K; ++k) c->weights[k] = 0.25 + 2 * uniform();
    r->weights = c->weights;
    otca_options_set_factors(c->options, "objectiveWeights", c->weights, c->K);
  }
  if (below(3) == 0) {
    for (int k = 0; k < c->K; ++k) c->scale[k] = 0.5 + uniform();
    r->scale = c->scale;
    otca_options_set_factors(c->options, "objectiveScale", c->scale, c->K);
  }
  /* latents: a drifting trajectory per sample */
  const int64_t per = (c->T + 1) * c->D, es = (int64_t)esize(c->dtype);
  c->latents = malloc((size_t)(c->N * per * es));
  for (int64_t i = 0; i < c->N; ++i) {
    for (int64_t d = 0; d < c->D; ++d) {
      double x = uniform() * 2 - 1;
      for (int64_t j = 0; j <= c->T; ++j) {
        x += 0.3 * (uniform() * 2 - 1);
        const float f = (float)(fabs(x) < 1e-3 ? 1e-3 : x);
        const int64_t at = i * per + j * c->D + d;
        if (c->dtype == OTCA_FLOAT32) ((float*)c->latents)[at] = f;
        else if (c->dtype == OTCA_BFLOAT16) ((uint16_t*)c->latents)[at] = to_bf16(f);
        else ((uint16_t*)c->latents)[at] = to_f16(f);
      }
    }
  }
  for (int64_t j = 0; c->list && j <= c->T; ++j) {
    c->states[j] = malloc((size_t)(c->N * c->D * es));
    for (int64_t i = 0; i < c->N; ++i)
      memcpy((char*)c->states[j] + i * c->D * es, (char*)c->latents + (i * per + j * c->D) * es, (size_t)(c->D * es));
    c->state_ptrs[j] = c->states[j];
  }
  c->rewards = malloc((size_t)(c->N * c->K * 8));
  for (int64_t x = 0; x < c->N * c->K; ++x) {
    const double v = below(6) == 0 ? 0.5 : uniform() * 4 - 1; /* ties now and then */
    if (c->reward_dtype == OTCA_FLOAT64) ((double*)c->rewards)[x] = v;
    else ((float*)c->rewards)[x] = (float)v;
  }
  c->ids = malloc((size_t)c->N * sizeof(int32_t));
  for (int64_t i = 0; i < c->N; ++i) c->ids[i] = (int32_t)(7 * below(groups) + 3); /* scattered, unequal */
  for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) c->expected[k] = malloc((size_t)output_size(c, k) * 4);
  char error[256];
  const int bad = ref_advantages(&c->ref, c->dtype, c->N, c->T, c->D, c->latents, c->reward_dtype, c->K, c->rewards,
                                 c->group_size, c->ids, c->expected, error);
  if (bad) printf("FAIL case %d: the reference threw %s\n", index, error);
}

static void free_case(Case* c) {
  free(c->latents);
  for (int64_t j = 0; c->list && j <= c->T; ++j) free(c->states[j]);
  free(c->rewards);
  free(c->ids);
  for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) free(c->expected[k]);
  otca_options_destroy(c->options);
}

static otca_latents latents_of(const Case* c) {
  otca_latents l;
  memset(&l, 0, sizeof l);
  l.struct_size = sizeof l;
  l.dtype = c->dtype;
  l.N = c->N;
  l.T = c->T;
  l.D = c->D;
  if (c->list) l.states = c->state_ptrs;
  else l.data = c->latents;
  return l;
}

static otca_rewards rewards_of(const Case* c) {
  otca_rewards r;
  memset(&r, 0, sizeof r);
  r.struct_size = sizeof r;
  r.dtype = c->reward_dtype;
  r.N = c->N;
  r.K = c->K;
  r.data = c->rewards;
  return r;
}

static otca_groups groups_of(const Case* c) {
  otca_groups g;
  memset(&g, 0, sizeof g);
  g.struct_size = sizeof g;
  g.group_size = c->group_size;
  if (c->by_ids) g.group_ids = c->ids;
  return g;
}

/* Every output, poisoned (NaN) so an element a run did not write shows. */
typedef struct Outs {
  float* v[OTCA_OUTPUT_COUNT];
  otca_outputs o;
} Outs;

static void outs_make(Outs* s, const Case* c) {
  memset(s, 0, sizeof *s);
  s->o.struct_size = sizeof s->o;
  for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) {
    s->v[k] = malloc((size_t)output_size(c, k) * 4);
    for (int64_t x = 0; x < output_size(c, k); ++x) s->v[k][x] = NAN;
    s->o.data[k] = s->v[k];
  }
}
static void outs_free(Outs* s) {
  for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) free(s->v[k]);
}
static int same_output(const Case* c, const Outs* s, int k) {
  return memcmp(s->v[k], c->expected[k], (size_t)output_size(c, k) * 4) == 0;
}

static void check_case(int index) {
  Case c;
  make_case(&c, index);
  char what[256];
  snprintf(what, sizeof what, "case %d (N %lld T %lld D %lld K %lld dtype %d %s %s)", index, (long long)c.N,
           (long long)c.T, (long long)c.D, (long long)c.K, c.dtype, c.list ? "list" : "array",
           c.by_ids ? "ids" : "size");
  otca_plan* plan = NULL;
  expect(otca_plan_create(c.options, -1, &plan) == OTCA_OK && plan != NULL, what);
  const otca_latents l = latents_of(&c);
  const otca_rewards r = rewards_of(&c);
  otca_groups g = groups_of(&c);
  Outs all;
  outs_make(&all, &c);
  otca_status st = otca_run(plan, OTCA_KIND_ADVANTAGES, &l, &r, NULL, &g, &all.o);
  char line[400];
  snprintf(line, sizeof line, "%s: otca_run: %s", what, otca_last_error());
  expect(st == OTCA_OK, line);
  for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) {
    snprintf(line, sizeof line, "%s: %s differs from the core's bits", what, otca_output_name(k));
    expect(same_output(&c, &all, k), line);
  }
  /* phase 1 then phase 2 (q from phase 1) give the same bits */
  Outs two;
  outs_make(&two, &c);
  otca_outputs o1 = two.o, o2 = two.o;
  for (int k = 5; k < OTCA_OUTPUT_COUNT; ++k) o1.data[k] = NULL;
  for (int k = 0; k < 5; ++k) o2.data[k] = NULL;
  o2.data[OTCA_OUT_ADVANTAGES] = NULL;
  expect(otca_run(plan, OTCA_KIND_TRAJECTORY, &l, NULL, NULL, NULL, &o1) == OTCA_OK, "trajectory run");
  expect(otca_run(plan, OTCA_KIND_OBJECTIVE, NULL, &r, two.v[OTCA_OUT_TRAJECTORY_SCORE], &g, &o2) == OTCA_OK,
         "objective run");
  for (int k = 0; k < OTCA_OUT_ADVANTAGES; ++k) {
    snprintf(line, sizeof line, "%s: the two phases' %s differs from the whole step", what, otca_output_name(k));
    expect(same_output(&c, &two, k), line);
  }
  /* groups by ids and by a host index (otca_group_index) give the same bits */
  if (c.by_ids) {
    int64_t* index_block = malloc((size_t)(3 * c.N + 1) * sizeof(int64_t));
    int64_t count = 0;
    expect(otca_group_index(c.ids, c.N, index_block, &count) == OTCA_OK && count >= 1, "otca_group_index");
    otca_groups gi = g;
    gi.group_ids = NULL;
    gi.index = index_block;
    gi.group_count = count;
    Outs viaIndex;
    outs_make(&viaIndex, &c);
    expect(otca_run(plan, OTCA_KIND_ADVANTAGES, &l, &r, NULL, &gi, &viaIndex.o) == OTCA_OK, "run with an index");
    for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k) {
      snprintf(line, sizeof line, "%s: %s by a group index differs", what, otca_output_name(k));
      expect(same_output(&c, &viaIndex, k), line);
    }
    /* a corrupted index is refused, not read out of bounds */
    index_block[count + 1] = c.N + 5;
    expect(otca_run(plan, OTCA_KIND_ADVANTAGES, &l, &r, NULL, &gi, &viaIndex.o) == OTCA_E_RANGE &&
               strcmp(otca_last_error_argument(), "groups.index") == 0,
           "a corrupted group index is refused");
    outs_free(&viaIndex);
    free(index_block);
  }
  outs_free(&two);
  outs_free(&all);
  otca_plan_destroy(plan);
  free_case(&c);
}

/* ------------------------------------------------------------------------------------ threads */

typedef struct Worker {
  Case* c;
  otca_plan* plan;
  int ok, runs;
  int error_isolated;
} Worker;

static void* worker_main(void* arg) {
  Worker* w = (Worker*)arg;
  const otca_latents l = latents_of(w->c);
  const otca_rewards r = rewards_of(w->c);
  const otca_groups g = groups_of(w->c);
  Outs s;
  outs_make(&s, w->c);
  w->ok = 1;
  for (int run = 0; run < w->runs; ++run) {
    if (otca_run(w->plan, OTCA_KIND_ADVANTAGES, &l, &r, NULL, &g, &s.o) != OTCA_OK) w->ok = 0;
    for (int k = 0; k < OTCA_OUTPUT_COUNT; ++k)
      if (!same_output(w->c, &s, k)) w->ok = 0;
  }
  w->error_isolated = strcmp(otca_last_error(), "") == 0; /* the main thread's errors are not this thread's */
  outs_free(&s);
  return NULL;
}

static void check_threads(void) {
  /* four cases of one shape and options (one plan), different values */
  Case cases[4];
  g_rng = 12345;
  for (int t = 0; t < 4; ++t) {
    uint64_t keep = g_rng;
    make_case(&cases[t], 1);
    if (t + 1 < 4) g_rng = keep + 977 * (uint64_t)(t + 1);
  }
  otca_plan* plan = NULL;
  otca_options* o = NULL;
  otca_options_create(&o);
  otca_options_set_number(o, "threads", 2);
  expect(otca_plan_create(o, -1, &plan) == OTCA_OK, "threads: plan");
  otca_options_destroy(o);
  /* the cases were made with their own options: recompute each with the plan's (defaults, 2 threads) */
  for (int t = 0; t < 4; ++t) {
    ref_options d;
    memset(&d, 0, sizeof d);
    d.std_correction = 1;
    d.threads = 2;
    d.min_weight = 0.5;
    d.adv_clip = 5;
    d.eps_adv = 1e-8;
    d.eps_tcd = 1e-6;
    d.eps_moca = 1e-6;
    d.eps_solver = 1e-8;
    d.fused_clip = INFINITY;
    char error[256];
    cases[t].ref = d;
    expect(ref_advantages(&d, cases[t].dtype, cases[t].N, cases[t].T, cases[t].D, cases[t].latents,
                          cases[t].reward_dtype, cases[t].K, cases[t].rewards, cases[t].group_size, cases[t].ids,
                          cases[t].expected, error) == 0,
           "threads: reference");
  }
  otca_options_set_number(NULL, "minWeight", 1); /* an error on this thread only */
  pthread_t th[4];
  Worker w[4];
  for (int t = 0; t < 4; ++t) {
    w[t].c = &cases[t];
    w[t].plan = plan;
    w[t].runs = 25;
    pthread_create(&th[t], NULL, worker_main, &w[t]);
  }
  for (int t = 0; t < 4; ++t) {
    pthread_join(th[t], NULL);
    expect(w[t].ok, "threads: a thread's runs on the shared plan give its case's bits");
    expect(w[t].error_isolated, "threads: the last error is per thread");
  }
  expect(otca_last_error()[0] != '\0', "threads: this thread's last error stays");
  otca_plan_destroy(plan);
  for (int t = 0; t < 4; ++t) free_case(&cases[t]);
}

/* ------------------------------------------------------------------------------------ errors */

static void check_option_errors(void) {
  otca_options* o = NULL;
  expect(otca_options_create(&o) == OTCA_OK && o != NULL, "otca_options_create");
  expect_error(otca_options_set_number(o, "minWeigth", 0.2), OTCA_E_RANGE, NULL, "options", "an unknown option");
  expect(strstr(otca_last_error(), "Expected an option name (one of temporal, weightScale, objective, ") ==
             otca_last_error() && strstr(otca_last_error(), "but received \"minWeigth\""),
         "an unknown option's message lists the names");
  expect_error(otca_options_set_number(o, "temporal", 1), OTCA_E_TYPE,
               "Expected one of 'tcd', 'uniform' for temporal but received 1", "temporal", "a number for an enum");
  expect_error(otca_options_set_enum(o, "minWeight", "high"), OTCA_E_TYPE,
               "Expected number for minWeight but received string", "minWeight", "a string for a number");
  expect_error(otca_options_set_enum(o, "objective", "fastest"), OTCA_E_RANGE,
               "Expected one of 'moca', 'min-norm', 'weighted-advantage', 'weighted-reward' for objective but received "
               "'fastest'",
               "objective", "an unknown enum value");
  expect_error(otca_options_set_number(o, "minWeight", 1.5), OTCA_E_RANGE,
               "Expected number in [0, 1] for minWeight but received 1.5", "minWeight", "minWeight out of range");
  expect_error(otca_options_set_number(o, "threads", 2.5), OTCA_E_RANGE,
               "Expected integer in [0, 4096] for threads but received 2.5", "threads", "threads not an integer");
  expect_error(otca_options_set_number(o, "threads", 5000), OTCA_E_RANGE,
               "Expected integer in [0, 4096] for threads but received 5000", "threads", "threads past 4096");
  expect_error(otca_options_set_number(o, "stdCorrection", 2), OTCA_E_RANGE,
               "Expected 0 or 1 for stdCorrection but received 2", "stdCorrection", "stdCorrection 2");
  expect_error(otca_options_set_number(o, "epsMoca", 0), OTCA_E_RANGE,
               "Expected number in [1e-30, 1e+100] for epsMoca but received 0", "epsMoca", "epsMoca 0");
  expect_error(otca_options_set_number(o, "advClip", NAN), OTCA_E_RANGE,
               "Expected number > 0 for advClip but received NaN", "advClip", "advClip NaN");
  const double bad[3] = {1, 2, NAN};
  expect_error(otca_options_set_factors(o, "objectiveWeights", bad, 3), OTCA_E_RANGE,
               "Expected finite number in [-1000000000, 1000000000] for objectiveWeights[2] but received NaN",
               "objectiveWeights[2]", "a NaN weight");
  expect_error(otca_options_set_factors(o, "minWeight", bad, 2), OTCA_E_TYPE,
               "Expected number for minWeight but received an array of numbers", "minWeight", "factors for a number");
  expect_error(otca_options_set_factors(o, "objectiveScale", bad, 0), OTCA_E_RANGE, NULL, "objectiveScale",
               "factors with no values");
  expect_error(otca_options_set_enum(NULL, "temporal", "tcd"), OTCA_E_STATE, NULL, "options", "null options");
  /* the failed setters left the defaults: a plan of them equals a plan of no options */
  otca_plan* plan = NULL;
  expect(otca_plan_create(o, -1, &plan) == OTCA_OK, "a plan of the options after failed setters");
  otca_plan_destroy(plan);
  const double w3[3] = {1, 2, 3}, s2[2] = {1, 1};
  expect(otca_options_set_factors(o, "objectiveWeights", w3, 3) == OTCA_OK, "weights of 3");
  expect(otca_options_set_factors(o, "objectiveScale", s2, 2) == OTCA_OK, "scale of 2");
  expect_error(otca_plan_create(o, -1, &plan), OTCA_E_RANGE,
               "Expected objectiveScale of the length of objectiveWeights (3) for objectiveScale but received length 2",
               "objectiveScale", "factor lengths differ");
  expect(plan == NULL, "a failed plan_create leaves null");
  expect(otca_options_set_factors(o, "objectiveScale", NULL, 0) == OTCA_OK, "scale back to all 1");
  expect_error(otca_plan_create(o, -2, &plan), OTCA_E_RANGE,
               "Expected integer in [-1, 1023] for device but received -2", "device", "device -2");
  otca_options_destroy(o);
  otca_options_destroy(NULL);
  otca_plan_destroy(NULL);

  /* the option table */
  int count = 0, enums = 0, numbers = 0, factors = 0;
  const char* name = NULL;
  int32_t kind = -1;
  while (otca_option_info(count, &name, &kind) == OTCA_OK) {
    enums += kind == OTCA_OPTION_ENUM;
    numbers += kind == OTCA_OPTION_NUMBER;
    factors += kind == OTCA_OPTION_FACTORS;
    ++count;
  }
  expect(count >= 15 && enums >= 5 && numbers >= 8 && factors == 2, "the option table: 5+ enums, 8+ numbers, 2 factors");
  expect(strcmp(otca_last_error_argument(), "index") == 0, "option_info past the end names index");
  expect(otca_option_info(0, &name, &kind) == OTCA_OK && strcmp(name, "temporal") == 0 && kind == OTCA_OPTION_ENUM,
         "option 0 is temporal, an enum");
}

static void check_input_errors(void) {
  Case c;
  g_rng = 777;
  make_case(&c, 2);
  otca_plan* plan = NULL;
  expect(otca_plan_create(c.options, -1, &plan) == OTCA_OK, "errors: plan");
  const otca_latents l0 = latents_of(&c);
  const otca_rewards r0 = rewards_of(&c);
  const otca_groups g0 = groups_of(&c);
  Outs s;
  outs_make(&s, &c);
  otca_latents l = l0;
  otca_rewards r = r0;
  otca_groups g = g0;
  char want[512];

  l.N = 0;
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE,
               "Expected integer in [1, 9007199254740991] for latents N but received 0", "latents", "N = 0");
  l = l0;
  l.dtype = OTCA_FLOAT64;
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_TYPE,
               "Expected float32, float16 or bfloat16 for latents dtype but received float64", "latents", "f64 latents");
  l = l0;
  l.struct_size = 0;
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE, NULL, "latents", "struct_size 0");
  l = l0;
  l.states = l.data ? (const void* const*)c.state_ptrs : NULL;
  l.data = l.data ? l.data : NULL;
  if (l0.data) {
    expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_TYPE,
                 "Expected exactly one of data and states for latents but received both", "latents", "both layouts");
  }
  l = l0;
  expect_error(otca_run(plan, 0, NULL, &r, NULL, &g, &s.o), OTCA_E_TYPE,
               "Expected an latents struct for latents but received null", "latents", "null latents");
  r.N = c.N + 1;
  snprintf(want, sizeof want, "Expected N (%lld) rows as in latents for rewards but received %lld", (long long)c.N,
           (long long)(c.N + 1));
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE, want, "rewards", "rows differ");
  r = r0;
  r.T = 3;
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE,
               "Expected 0 (the C ABI takes one reward row per sample; per-step rewards are not wired in yet) for rewards "
               "T but received 3", "rewards",
               "per-step rewards");
  r = r0;
  r.dtype = OTCA_BFLOAT16;
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_TYPE,
               "Expected float32 or float64 for rewards dtype but received bfloat16", "rewards", "bf16 rewards");
  r = r0;
  if (c.ref.weights) {
    r.K = c.K + 1;
    r.N = c.N;
    snprintf(want, sizeof want, "Expected length K (%lld) for objectiveWeights but received length %lld",
             (long long)(c.K + 1), (long long)c.K);
    expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE, want, "objectiveWeights",
                 "weights of another K");
    r = r0;
  }
  g.group_ids = NULL;
  g.group_size = c.N + 1;
  snprintf(want, sizeof want, "Expected N (%lld) divisible by groupSize for groupSize but received %lld", (long long)c.N,
           (long long)(c.N + 1));
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE, want, "groupSize", "groupSize not dividing N");
  g.group_size = -2;
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE,
               "Expected integer >= 1 for groupSize but received -2", "groupSize", "groupSize -2");
  g.group_size = 1;
  g.group_ids = c.ids;
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_TYPE,
               "Expected exactly one of group_size, group_ids and index for groups but received several", "groups",
               "two kinds of groups");
  g.group_size = 0;
  const int32_t keep = c.ids[c.N - 1];
  c.ids[c.N - 1] = -1;
  snprintf(want, sizeof want, "Expected integers >= 0 for groupIds but received -1 at sample %lld", (long long)(c.N - 1));
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE, want, "groupIds", "a negative group id");
  c.ids[c.N - 1] = keep;
  g = g0;
  expect_error(otca_run(plan, 3, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE,
               "Expected integer in [0, 2] for kind but received 3", "kind", "kind 3");
  otca_outputs o = s.o;
  o.data[OTCA_OUT_ADVANTAGES] = s.v[OTCA_OUT_ADVANTAGES];
  expect_error(otca_run(plan, OTCA_KIND_TRAJECTORY, &l, NULL, NULL, NULL, &o), OTCA_E_RANGE,
               "Expected null (a trajectory run does not compute it) for outputs.objectiveAdvantages but received a "
               "pointer",
               "outputs.objectiveAdvantages", "an output the kind does not compute");
  expect_error(otca_run(plan, OTCA_KIND_OBJECTIVE, NULL, &r, NULL, &g, &s.o), OTCA_E_TYPE,
               "Expected a pointer for trajectoryScore but received null", "trajectoryScore", "no q");
  expect_error(otca_run(NULL, 0, &l, &r, NULL, &g, &s.o), OTCA_E_STATE, NULL, "plan", "a null plan");
  expect_error(otca_run_cuda(plan, 0, &l, &r, NULL, &g, &s.o, NULL, 0, NULL, NULL), OTCA_E_STATE,
               "Expected a CUDA plan (otca_run_cuda) for plan but received a CPU plan", "plan", "run_cuda on a CPU plan");

  /* non-finite inputs: the core's exact message (and the call leaves this thread's error) */
  char reference[256];
  const size_t es = esize(c.dtype);
  const int64_t at = (c.N - 1) * (c.T + 1) * c.D + 1 * c.D + (c.D - 1); /* last sample, state 1, last element */
  uint16_t keep16 = 0;
  float keep32 = 0;
  if (c.dtype == OTCA_FLOAT32) {
    keep32 = ((float*)c.latents)[at];
    ((float*)c.latents)[at] = INFINITY;
  } else {
    keep16 = ((uint16_t*)c.latents)[at];
    ((uint16_t*)c.latents)[at] = c.dtype == OTCA_BFLOAT16 ? 0x7fc0 : 0x7e00; /* NaN */
  }
  if (c.list) memcpy((char*)c.states[1] + ((c.N - 1) * c.D + c.D - 1) * es, (char*)c.latents + at * es, es);
  expect(ref_advantages(&c.ref, c.dtype, c.N, c.T, c.D, c.latents, c.reward_dtype, c.K, c.rewards, c.group_size, c.ids,
                        c.expected, reference) == 1,
         "the core refuses a non-finite latent");
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE, reference, "latents", "a non-finite latent");
  if (c.dtype == OTCA_FLOAT32) ((float*)c.latents)[at] = keep32;
  else ((uint16_t*)c.latents)[at] = keep16;
  if (c.list) memcpy((char*)c.states[1] + ((c.N - 1) * c.D + c.D - 1) * es, (char*)c.latents + at * es, es);
  if (c.reward_dtype == OTCA_FLOAT64) ((double*)c.rewards)[c.K - 1] = 1e300;
  else ((float*)c.rewards)[c.K - 1] = NAN;
  expect(ref_advantages(&c.ref, c.dtype, c.N, c.T, c.D, c.latents, c.reward_dtype, c.K, c.rewards, c.group_size, c.ids,
                        c.expected, reference) == 1,
         "the core refuses a bad reward");
  expect_error(otca_run(plan, 0, &l, &r, NULL, &g, &s.o), OTCA_E_RANGE, reference, "rewards", "a bad reward");
  expect(strcmp(otca_last_error(), reference) == 0, "the last error stays until the next failure");
  expect(otca_abi_version() == OTCA_ABI_VERSION, "abi version");
  expect(strcmp(otca_last_error(), reference) == 0, "a successful call leaves the last error");

  outs_free(&s);
  otca_plan_destroy(plan);
  free_case(&c);
}

/* ------------------------------------------------------------------------------------- misc */

static void check_info(void) {
  expect(otca_abi_version() == OTCA_ABI_VERSION, "otca_abi_version");
  expect(otca_version() != NULL && otca_version()[0] >= '0' && otca_version()[0] <= '9', "otca_version");
  expect(strcmp(otca_output_name(0), "similarity") == 0 && strcmp(otca_output_name(10), "advantages") == 0 &&
             otca_output_name(11) == NULL && otca_output_name(-1) == NULL,
         "otca_output_name");
  otca_backend_info info;
  memset(&info, 0xab, sizeof info);
  info.struct_size = sizeof info;
  expect(otca_backend_info_get(&info) == OTCA_OK, "otca_backend_info_get");
  expect(info.struct_size == sizeof info && info.cpu_threads >= 1, "backend info: cpu threads");
  expect(info.cuda_compiled == 0 || info.cuda_compiled == 1, "backend info: compiled");
  expect(info.cuda_reason != NULL && info.cuda_architectures != NULL, "backend info: strings");
  expect(info.cuda_usable || info.cuda_reason[0] != '\0', "backend info: a reason where CUDA is not usable");
  /* an older caller's smaller struct: only its fields are written */
  unsigned char small[64];
  memset(small, 0xcd, sizeof small);
  ((otca_backend_info*)small)->struct_size = 8;
  expect(otca_backend_info_get((otca_backend_info*)small) == OTCA_OK && small[8] == 0xcd,
         "backend info: nothing written past struct_size");
  if (!info.cuda_usable) {
    otca_plan* plan = NULL;
    expect(otca_plan_create(NULL, 0, &plan) == OTCA_E_DEVICE && plan == NULL &&
               strstr(otca_last_error(), "Expected a usable CUDA device for device but received cuda:0 (") ==
                   otca_last_error() &&
               strcmp(otca_last_error_argument(), "device") == 0,
           "a CUDA plan without a usable device");
    otca_device_info d;
    d.struct_size = sizeof d;
    expect(otca_device_info_get(0, &d) != OTCA_OK, "device info without a device");
  }
  otca_plan* cpu = NULL;
  expect(otca_plan_create(NULL, -1, &cpu) == OTCA_OK && otca_plan_device(cpu) == -1, "a CPU plan of the defaults");
  size_t bytes = 0;
  const otca_status ws = otca_workspace_size(cpu, OTCA_KIND_ADVANTAGES, 8, 4, 1000, 2, 2, &bytes);
  expect(info.cuda_compiled ? (ws == OTCA_OK && bytes > 0) : ws == OTCA_E_DEVICE, "otca_workspace_size");
  expect_error(otca_workspace_size(cpu, OTCA_KIND_ADVANTAGES, 8, 4, 1000, 2, 9, &bytes), OTCA_E_RANGE,
               "Expected integer in [1, 8] for num_groups but received 9", "num_groups", "workspace: num_groups > N");
  otca_plan_destroy(cpu);
  int64_t out[3 * 5 + 1], count = 0;
  const int32_t ids[5] = {9, 2, 9, 4, 2};
  expect(otca_group_index(ids, 5, out, &count) == OTCA_OK && count == 3, "group index: 3 groups");
  const int64_t want[3 + 1 + 10] = {0, 2, 3, 5, /* members */ 1, 4, 3, 0, 2, /* groupOf */ 2, 0, 2, 1, 0};
  expect(memcmp(out, want, sizeof want) == 0, "group index: offsets, members, groupOf in ascending id order");
}

int main(void) {
  check_info();
  check_option_errors();
  for (int i = 0; i < 40; ++i) check_case(i);
  check_input_errors();
  check_threads();
  if (g_failures) {
    printf("capi_test: %d of %d checks failed\n", g_failures, g_checks);
    return 1;
  }
  printf("capi_test: %d checks\ncapi_test: all passed\n", g_checks);
  return 0;
}
