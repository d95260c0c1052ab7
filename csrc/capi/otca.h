/* otca: per-step OTCA advantages for GRPO post-training of flow-matching generators.
 *
 * The C ABI of the otca core (libotca.so): the same C++/CUDA core that the Node package runs, for
 * front ends that cannot link C++ (Python through ctypes). Plain C99; no C++ type crosses it and no
 * C++ exception leaves it: every entry point returns an otca_status, and on failure the calling
 * thread's otca_last_error() says what went wrong in the words of the Node package's errors.
 *
 *   otca_options* o;  otca_options_create(&o);
 *   otca_options_set_enum(o, "temporal", "uniform");
 *   otca_options_set_number(o, "minWeight", 0.25);
 *   otca_plan* plan;  otca_plan_create(o, -1, &plan);          // -1: the CPU backend
 *   otca_options_destroy(o);                                    // the plan keeps its own copy
 *   otca_run(plan, OTCA_KIND_ADVANTAGES, &latents, &rewards, NULL, &groups, &outputs);
 *   otca_plan_destroy(plan);
 *
 * Memory. Every pointer argument says where its memory lives:
 *   [host]    host memory the caller owns; read (or written, for outputs) during the call only.
 *   [data]    host memory for otca_run on a CPU plan; device memory on the plan's device for
 *             otca_run on a CUDA plan and for otca_run_cuda.
 *   [device]  device memory on the plan's device.
 * Nothing is kept past a call except what a create function returns.
 *
 * Shapes. N samples, T steps (T + 1 latent states), D elements per latent state (any trailing
 * dims flattened), K objectives, B groups. Every output is float32, row-major, and must have room
 * for the elements its shape names (the ABI cannot check the length of a raw pointer).
 *
 * Versioning. OTCA_ABI_VERSION changes when an existing declaration changes meaning; additions
 * (options, outputs, struct fields at the end) keep it. Every struct the caller fills starts with
 * `struct_size`, set to sizeof(the struct) of the header the caller compiled against: at least the
 * struct of ABI version 1 (OTCA_E_RANGE naming the struct otherwise; otca_outputs may stop after any
 * output); the library reads only the fields that size covers and treats later ones as zero (not
 * given), and writes (otca_backend_info) only as much. Options cross by name
 * (otca_options_set_*), so adding an option changes nothing here.
 *
 * Threads. Every function may be called from any thread. One plan may run on several threads at
 * once (otca_run and otca_run_cuda): each run takes its own scratch from the plan's pool. A plan
 * must not be destroyed while one of its runs is in flight, nor options while they are read.
 */
#ifndef OTCA_CAPI_H
#define OTCA_CAPI_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(OTCA_CAPI_BUILD)
#define OTCA_API __declspec(dllexport)
#else
#define OTCA_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define OTCA_API __attribute__((visibility("default")))
#else
#define OTCA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define OTCA_ABI_VERSION 1

/* OTCA_ABI_VERSION of the loaded library: a front end compares it with the header it was built
 * against (a ctypes binding, with the number it was written for). */
OTCA_API int32_t otca_abi_version(void);
/* The package version, e.g. "0.4.0" (static storage). */
OTCA_API const char* otca_version(void);

/* ------------------------------------------------------------------------------------ errors */

typedef enum otca_status {
  OTCA_OK = 0,
  OTCA_E_TYPE = 1,      /* a value of the wrong kind (the Node package's TypeError) */
  OTCA_E_RANGE = 2,     /* a value or shape out of range, or a non-finite input (RangeError) */
  OTCA_E_DEVICE = 3,    /* a CUDA failure, or CUDA not compiled in / not usable */
  OTCA_E_NO_MEMORY = 4, /* a host or device allocation failed */
  OTCA_E_STATE = 5,     /* a call the object cannot take: a null handle, otca_run_cuda on a CPU plan */
  OTCA_E_INTERNAL = 6   /* anything else (a bug: please report the message) */
} otca_status;

/* The message of the calling thread's last failed call, worded as the Node package words it:
 * "Expected integer >= 1 for groupSize but received 0". Never null ("" when none); valid until
 * this thread's next call into the library. Successful calls leave it unchanged. */
OTCA_API const char* otca_last_error(void);
/* The argument or option that message names, in the core's camelCase ("minWeight", "groupSize",
 * "latents", "rewards", "trajectoryScore", "objectiveWeights[2]", "outputs.fused", "options"),
 * so that a front end with other names (min_weight) can say its own. It is the text between
 * " for " and " but received " of the message, up to its first space. "" when none. */
OTCA_API const char* otca_last_error_argument(void);

/* ----------------------------------------------------------------------------------- options */

/* The options of a plan, by name: the names, values, ranges and defaults of the TypeScript schema
 * (lib/options.ts, the native ones: not presets, devices or output selection, which are front-end
 * matters). Kinds: */
typedef enum otca_option_kind {
  OTCA_OPTION_ENUM = 0,    /* a name among fixed strings ("temporal": "tcd" | "uniform") */
  OTCA_OPTION_NUMBER = 1,  /* a double (integers too: "threads", "stdCorrection") */
  OTCA_OPTION_FACTORS = 2  /* K doubles, one per objective ("objectiveWeights", "objectiveScale") */
} otca_option_kind;

typedef struct otca_options otca_options;

/* All defaults. */
OTCA_API otca_status otca_options_create(otca_options** out);
OTCA_API void otca_options_destroy(otca_options* options); /* null is fine */

/* Each setter checks the value at once and leaves the options unchanged when it fails:
 *   an unknown name                 -> OTCA_E_RANGE naming "options"
 *   a setter of the wrong kind      -> OTCA_E_TYPE naming the option
 *   a value out of range            -> OTCA_E_RANGE naming the option (objectiveWeights[k] for one
 *                                      factor), the core's messages */
OTCA_API otca_status otca_options_set_enum(otca_options* options, const char* name, const char* value);
OTCA_API otca_status otca_options_set_number(otca_options* options, const char* name, double value);
/* values [host]: count >= 1 doubles, copied; values null and count 0: back to the default (all 1).
 * objectiveWeights and objectiveScale, when both set, must have one length (checked by
 * otca_plan_create), and that length must be the rewards' K at every run. */
OTCA_API otca_status otca_options_set_factors(otca_options* options, const char* name, const double* values,
                                              int64_t count);

/* The native options, for a front end to check its own table against at load: index 0, 1, ...
 * gives the name (static storage) and kind; OTCA_E_RANGE past the last one. */
OTCA_API otca_status otca_option_info(int32_t index, const char** name, int32_t* kind);

/* --------------------------------------------------------------------------------- the plan */

typedef struct otca_plan otca_plan;

/* A plan: the options checked once, and the scratch its runs reuse. device: -1 the CPU backend,
 * N >= 0 cuda:N (OTCA_E_DEVICE naming "device" where CUDA is not compiled in or no device can be
 * used, the reason in the message; OTCA_E_RANGE past the device count; creating
 * one allocates nothing on the device: otca_run allocates its scratch at first use, otca_run_cuda
 * never does). options: null for all defaults; not kept. */
OTCA_API otca_status otca_plan_create(const otca_options* options, int32_t device, otca_plan** out);
OTCA_API void otca_plan_destroy(otca_plan* plan); /* null is fine */
/* The plan's device (-1: CPU). */
OTCA_API int32_t otca_plan_device(const otca_plan* plan);

/* ------------------------------------------------------------------------------ runs: inputs */

typedef enum otca_dtype {
  OTCA_FLOAT32 = 0,
  OTCA_FLOAT64 = 1, /* rewards only */
  OTCA_FLOAT16 = 2, /* latents only */
  OTCA_BFLOAT16 = 3 /* latents only */
} otca_dtype;

typedef enum otca_kind {
  OTCA_KIND_ADVANTAGES = 0, /* the whole step: latents + rewards + groups -> every output */
  OTCA_KIND_TRAJECTORY = 1, /* phase 1 (trajectoryCredit): latents -> S, dS, wbar, w, q */
  OTCA_KIND_OBJECTIVE = 2   /* phase 2 (objectiveCredit): rewards + q + groups -> A, e, lam, c, f */
} otca_kind;

/* The T + 1 latent states of N samples, in one of two layouts:
 *   data != null:   one [N, T+1, D] array; element (i, j, d) at data[i*sample_stride + j*D + d]
 *                   (sample_stride 0: (T+1)*D, contiguous; else at least (T+1)*D).
 *   states != null: T+1 arrays [N, D] (a list, as trainers keep them); element (i, j, d) at
 *                   states[j][i*sample_stride + d] (sample_stride 0: D; else at least D).
 * Exactly one of data and states. `states` itself is [host]; the arrays are [data]. */
typedef struct otca_latents {
  uint32_t struct_size;
  int32_t dtype; /* OTCA_FLOAT32, OTCA_FLOAT16 or OTCA_BFLOAT16 */
  int64_t N, T, D; /* N >= 1, T >= 1, D >= 1 */
  const void* data;                /* [data] */
  const void* const* states;       /* [host] T+1 pointers, each [data] */
  int64_t sample_stride;           /* elements; 0: contiguous */
} otca_latents;

/* Row-major rewards [N, K] (one score per sample and objective). T is reserved for per-step
 * rewards [N, T, K]: 0 (OTCA_E_RANGE otherwise: the core has them, this ABI does not wire them in yet). */
typedef struct otca_rewards {
  uint32_t struct_size;
  int32_t dtype; /* OTCA_FLOAT32 or OTCA_FLOAT64 */
  int64_t N, T, K; /* N >= 1, T == 0, K >= 1 */
  const void* data; /* [data] */
} otca_rewards;

/* Which samples form a group. Exactly one of:
 *   group_size > 0:  contiguous groups of that size (it divides N);
 *   group_ids:       [host] N int32 ids >= 0, any order (otca_run, on either plan; otca_run_cuda
 *                    refuses them with OTCA_E_TYPE naming "groupIds": build the index below);
 *   index:           the block otca_group_index wrote for these ids, group_count its B: [host] for
 *                    otca_run on a CPU plan, [device] for otca_run_cuda and a CUDA plan's otca_run
 *                    (its contents are not checked on the device: pass it unchanged). */
typedef struct otca_groups {
  uint32_t struct_size;
  int64_t group_size;
  const int32_t* group_ids;
  const int64_t* index;
  int64_t group_count;
} otca_groups;

/* The group index of N ids (host work, for a device run): writes into out [host], which has room
 * for 3*N + 1 int64, the block [offsets (B+1) | members (N) | group_of (N)] and sets *group_count
 * to B; the first B + 1 + 2*N entries are the index (copy them to the device: in PyTorch, from a
 * pinned tensor with non_blocking=True). Groups in ascending id order, members ascending. */
OTCA_API otca_status otca_group_index(const int32_t* ids, int64_t N, int64_t* out, int64_t* group_count);

/* ----------------------------------------------------------------------------- runs: outputs */

/* The outputs, in the core's order; each [data] float32, null = not requested. */
typedef enum otca_output {
  OTCA_OUT_SIMILARITY = 0,            /* S    [N, T+1]  phase 1 */
  OTCA_OUT_DELTA_S = 1,               /* dS   [N, T]    phase 1 */
  OTCA_OUT_RAW_WEIGHTS = 2,           /* wbar [N, T]    phase 1 */
  OTCA_OUT_STEP_WEIGHTS = 3,          /* w    [N, T]    phase 1 */
  OTCA_OUT_TRAJECTORY_SCORE = 4,      /* q    [N]       phase 1 */
  OTCA_OUT_OBJECTIVE_ADVANTAGES = 5,  /* A    [N, K]    phase 2 */
  OTCA_OUT_EXPLORATION = 6,           /* e    [N]       phase 2 */
  OTCA_OUT_LAMBDA = 7,                /* lam  [N]       phase 2 */
  OTCA_OUT_COEFFICIENTS = 8,          /* c    [N, K]    phase 2 */
  OTCA_OUT_FUSED = 9,                 /* f    [N]       phase 2 */
  OTCA_OUT_ADVANTAGES = 10,           /* Adv  [N, T]    the whole step only */
  OTCA_OUTPUT_COUNT = 11
} otca_output;

/* An array, so a front end can loop over the outputs by index. Outputs a kind does not produce
 * (A for a trajectory run, S for an objective run) must be null: OTCA_E_RANGE otherwise. */
typedef struct otca_outputs {
  uint32_t struct_size;
  float* data[OTCA_OUTPUT_COUNT];
} otca_outputs;

/* The camelCase name of output `index` ("similarity", "deltaS", ..., "advantages"; static
 * storage), or null past the last one. */
OTCA_API const char* otca_output_name(int32_t index);

/* ----------------------------------------------------------------------------- runs: calling */

/* A synchronous, checked run, as the Node package's step.run:
 *   - on a CPU plan, every [data] pointer host memory; the plan's CPU threads compute.
 *   - on a CUDA plan, every [data] pointer device memory on the plan's device (group_ids, if given,
 *     stay host ids); it runs on a stream of the plan's own, so the caller must have finished
 *     writing the inputs (e.g. torch.cuda.synchronize()), and returns with the outputs written;
 *     the caller's current device is restored.
 * q: [data] float32 [N] trajectory scores, for OTCA_KIND_OBJECTIVE only (null otherwise).
 * latents are not read by OTCA_KIND_OBJECTIVE, rewards and groups not by OTCA_KIND_TRAJECTORY
 * (pass null). Every struct pointer that is read must be non-null (OTCA_E_TYPE naming it).
 * A non-finite latent or reward gives OTCA_E_RANGE naming the first one ("Expected finite values
 * for latents but received NaN at sample 3, state 1"), and the outputs are then unspecified. */
OTCA_API otca_status otca_run(otca_plan* plan, int32_t kind, const otca_latents* latents,
                              const otca_rewards* rewards, const float* q, const otca_groups* groups,
                              const otca_outputs* outputs);

/* ------------------------------------------------------------------- CUDA: enqueue on a stream */

/* The status word an enqueued run writes: OTCA_STATUS_BYTES of [device] memory, 8-byte aligned,
 * the caller's (one per run in flight, or one reused once each run's status has been checked). */
#define OTCA_STATUS_BYTES 32

/* The [device] scratch otca_run_cuda needs for a shape (K, num_groups: 0 for a trajectory run;
 * num_groups: the groups' B, or N when not known, an upper bound). The bytes do not depend on the
 * dtypes or pointers, so one block can be reserved per shape (and captured in a CUDA graph).
 * OTCA_E_DEVICE in a build without CUDA. */
OTCA_API otca_status otca_workspace_size(const otca_plan* plan, int32_t kind, int64_t N, int64_t T, int64_t D,
                                         int64_t K, int64_t num_groups, size_t* bytes);

/* Enqueues a run on a CUDA plan on the caller's stream and returns: no host synchronisation, no
 * allocation, no host memory shared between runs (so any number of runs may be in flight, and the
 * call may be captured into a CUDA graph). The caller's current device is restored.
 *   every [data] pointer: [device] memory on the plan's device; groups: group_size or a device
 *   index (OTCA_E_TYPE for group_ids); any T and K.
 *   workspace: [device], at least otca_workspace_size() bytes, 256-byte aligned, not used by
 *     another run in flight (the run zeroes what it needs on the stream).
 *   status: [device] OTCA_STATUS_BYTES, written by the run (reset on the stream first).
 *   stream: a cudaStream_t (null: the legacy default stream).
 * What it enqueues: three memsets (the workspace's counters and flags, the status word), the step's
 * kernel, and a small kernel that fills the outputs with NaN where the status word holds a flag
 * (a kernel of its own, so the streaming kernel's registers stay as they are); with more than 64
 * states or 16 objectives, small kernels whose launches carry the state pointers or the factors
 * into the workspace (256 values a launch: nothing on the host is read after the call returns).
 * The arguments are checked here, synchronously (the same messages as otca_run); the values are
 * not, as that needs a synchronisation. Instead, when a latent, reward or trajectory score is not
 * finite (or a reward |r| > 1e100, a score |q| > 4), every requested output of the run is filled
 * with NaN on the stream, so a bad input never gives plausible numbers, and the status word says
 * which; otca_check_status turns it into the error otca_run would have returned. */
OTCA_API otca_status otca_run_cuda(otca_plan* plan, int32_t kind, const otca_latents* latents,
                                   const otca_rewards* rewards, const float* q, const otca_groups* groups,
                                   const otca_outputs* outputs, void* workspace, size_t workspace_bytes,
                                   void* status, void* stream);

/* Synchronises `stream`, reads the status word of the run enqueued with these inputs, and returns
 * the error otca_run would have returned for them (OTCA_E_RANGE with the same message), or OTCA_OK.
 * Pass the run's latents, rewards and q (they are read back for the message; the same pointers
 * as the run, still holding the same values). OTCA_E_DEVICE when the run never finished. */
OTCA_API otca_status otca_check_status(otca_plan* plan, int32_t kind, const otca_latents* latents,
                                       const otca_rewards* rewards, const float* q, const void* status,
                                       void* stream);

/* ------------------------------------------------------------------------------ backend info */

typedef struct otca_backend_info {
  uint32_t struct_size;       /* set by the caller: sizeof(otca_backend_info) */
  int32_t cpu_threads;        /* the hardware concurrency: threads = 0 uses all of them */
  int32_t cuda_compiled;      /* 1 when the CUDA backend is compiled in */
  int32_t cuda_usable;        /* 1 when a driver and a device answered */
  int32_t cuda_device_count;
  int32_t cuda_driver_version;  /* cudaDriverGetVersion (e.g. 13000), 0 when none */
  int32_t cuda_runtime_version; /* the runtime linked in */
  const char* cuda_reason;        /* why not usable ("" when usable); static storage */
  const char* cuda_architectures; /* compiled SASS/PTX targets, "90-real;120-virtual"; static storage */
} otca_backend_info;

/* Fills *info (up to info->struct_size bytes). The CUDA fields are probed once per process.
 * (Named _get: a C function cannot share its name with the struct's typedef.) */
OTCA_API otca_status otca_backend_info_get(otca_backend_info* info);

typedef struct otca_device_info {
  uint32_t struct_size;  /* set by the caller: sizeof(otca_device_info) */
  char name[256];        /* e.g. "NVIDIA H100 80GB HBM3", NUL-terminated */
  int32_t major, minor;  /* compute capability */
  int32_t multiprocessors;
  int64_t total_memory;  /* bytes */
  int64_t l2_bytes;
} otca_device_info;

/* The properties of cuda:device (OTCA_E_DEVICE where it cannot be read). */
OTCA_API otca_status otca_device_info_get(int32_t device, otca_device_info* info);

#ifdef __cplusplus
}
#endif

#endif /* OTCA_CAPI_H */
