// The thin N-API binding of otca. Context-aware (Napi::Addon: per-environment instance data, so it
// loads in worker_threads). The raw contract is declared once, in lib/native.ts.
// Outputs are Float32Arrays allocated by the caller in JS, so results are zero-copy by
// construction; async calls hold a reference to every input and output until the work is done.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "async_task.h"
#include "device_memory.h"
#include "job.h"
#include "otca.h"
#include "plan.h"

namespace otca_addon {
namespace {

// One side of a copy: host bytes (a TypedArray) or a device view.
struct CopySide {
  void* host = nullptr;
  void* device = nullptr;
  int deviceIndex = -1;
  size_t bytes = 0;
  std::shared_ptr<Allocation> alloc;  // held while the copy runs
};

CopySide GetCopySide(Napi::Env env, const Napi::Value& v, const char* arg) {
  CopySide side;
  if (IsView(v)) {
    DeviceView* view = UnwrapView(env, v, arg);
    side.device = view->ptr();
    side.deviceIndex = view->device;
    side.bytes = view->bytes;
    side.alloc = view->alloc;
    return side;
  }
  const TypedArrayMemory m = TypedArrayOf(env, v, "a TypedArray or a device buffer", arg);
  if (m.detached) {
    throw Napi::TypeError::New(env, std::string("Expected a live (not detached) buffer for ") + arg +
                                        " but received a detached ArrayBuffer");
  }
  side.host = m.data;
  side.bytes = m.byteLength;
  return side;
}

// A checked copy between `dst` and `src` (at least one on a device, equal byte lengths).
struct Copy {
  CopySide dst, src;
  int device = 0, kind = 0;

  static Copy Parse(Napi::Env env, const Napi::Value& dst, const Napi::Value& src) {
    Copy c;
    c.dst = GetCopySide(env, dst, "dst");
    c.src = GetCopySide(env, src, "src");
    if (c.dst.host && c.src.host) {
      throw Napi::TypeError::New(env, "Expected a device buffer for dst or src but received two host buffers");
    }
    if (c.dst.bytes != c.src.bytes) {
      throw Napi::RangeError::New(env, "Expected " + std::to_string(c.src.bytes) +
                                           " bytes (as src) for dst but received " +
                                           std::to_string(c.dst.bytes) + " bytes");
    }
    c.kind = c.src.host ? 0 : c.dst.host ? 1 : 2;
    c.device = c.dst.device ? c.dst.deviceIndex : c.src.deviceIndex;
    return c;
  }

  void Run() const {
    void* to = dst.host ? dst.host : dst.device;
    const void* from = src.host ? src.host : src.device;
    otca::gpu::copy(device, to, from, src.bytes, kind);
  }
};

// A copy on the libuv pool; both sides are held until it is done.
class CopyTask : public AsyncTask {
 public:
  CopyTask(Napi::Env env, Copy copy, Napi::Value dst, Napi::Value src) : copy_(std::move(copy)) {
    keep_.push_back(Napi::Persistent(dst));
    keep_.push_back(Napi::Persistent(src));
    (void)env;
  }

 protected:
  void Execute() override { copy_.Run(); }

 private:
  Copy copy_;
  std::vector<Napi::Reference<Napi::Value>> keep_;
};

// The promise of a queued task, or the error of one that could not be queued.
Napi::Value Queued(Napi::Env env, napi_value promise) {
  if (promise == nullptr) throw Napi::Error::New(env, "otca: could not queue the asynchronous call");
  return Napi::Value(env, promise);
}

int GetDeviceIndex(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "Expected integer >= 0 for device but received another value");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 1023) || static_cast<double>(static_cast<int>(d)) != d) {
    throw Napi::RangeError::New(env, "Expected integer in [0, 1023] for device but received " + v.ToString().Utf8Value());
  }
  return static_cast<int>(d);
}

size_t GetByteLength(Napi::Env env, const Napi::Value& v, const std::string& arg) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "Expected integer >= 0 for " + arg + " but received another value");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || std::floor(d) != d) {
    throw Napi::RangeError::New(env, "Expected integer >= 0 for " + arg + " but received " + v.ToString().Utf8Value());
  }
  return static_cast<size_t>(d);
}

class OtcaAddon : public Napi::Addon<OtcaAddon> {
 public:
  OtcaAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
        InstanceMethod("backendInfo", &OtcaAddon::BackendInfo, napi_enumerable),
        InstanceMethod("contract", &OtcaAddon::Contract, napi_enumerable),
        InstanceMethod("readProbe", &OtcaAddon::ReadProbe, napi_enumerable),
        InstanceMethod("deviceAlloc", &OtcaAddon::DeviceAlloc, napi_enumerable),
        InstanceMethod("deviceBorrow", &OtcaAddon::DeviceBorrow, napi_enumerable),
        InstanceMethod("deviceRelease", &OtcaAddon::DeviceRelease, napi_enumerable),
        InstanceMethod("devicePointer", &OtcaAddon::DevicePointer, napi_enumerable),
        InstanceMethod("deviceCopy", &OtcaAddon::DeviceCopy, napi_enumerable),
        InstanceMethod("deviceCopyAsync", &OtcaAddon::DeviceCopyAsync, napi_enumerable),
    });
    exports.Set("NativePlan", Plan::Define(env));
  }

 private:
  // What lib/native.ts checks at load against its own tables (so the two sides never drift): the
  // slots of a run's header, the output slots, each enumeration's names (options.h) and the C++
  // defaults of the options (which the options test compares with the schema's).
  Napi::Value Contract(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object r = Napi::Object::New(env);
    const auto list = [&](const char* const* names, int n) {
      Napi::Array a = Napi::Array::New(env, static_cast<size_t>(n));
      for (int k = 0; k < n; ++k) a.Set(static_cast<uint32_t>(k), Napi::String::New(env, names[k]));
      return a;
    };
    r.Set("header", list(kHeaderSlotNames, kSlotCount));
    r.Set("outputs", list(kOutputNames, kOutputCount));
    Napi::Object enums = Napi::Object::New(env);
    const auto add = [&](auto tag) {
      using E = decltype(tag);
      enums.Set(otca::EnumNames<E>::kOption, list(otca::EnumNames<E>::kNames, otca::EnumNames<E>::kCount));
    };
#define OTCA_ADD_ENUM(field, E) add(otca::E{});
#define OTCA_SKIP(...)
    OTCA_NATIVE_OPTIONS(OTCA_ADD_ENUM, OTCA_SKIP, OTCA_SKIP)
#undef OTCA_ADD_ENUM
#undef OTCA_SKIP
    r.Set("enums", enums);
    const otca::Options d;
    Napi::Object defaults = Napi::Object::New(env);  // every option of the table but the factors
#define OTCA_DEFAULT_ENUM(field, E) defaults.Set(otca::EnumNames<otca::E>::kOption, otca::enum_name(d.field));
#define OTCA_DEFAULT_NUMBER(field) defaults.Set(#field, Napi::Number::New(env, static_cast<double>(d.field)));
#define OTCA_SKIP(...)
    OTCA_NATIVE_OPTIONS(OTCA_DEFAULT_ENUM, OTCA_DEFAULT_NUMBER, OTCA_SKIP)
#undef OTCA_DEFAULT_ENUM
#undef OTCA_DEFAULT_NUMBER
#undef OTCA_SKIP
    r.Set("defaults", defaults);
    return r;
  }

  Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object result = Napi::Object::New(env);
    Napi::Object cpu = Napi::Object::New(env);
    cpu.Set("threads", Napi::Number::New(env, otca::cpu::default_threads()));
    result.Set("cpu", cpu);

    otca::gpu::Status st = otca::gpu::status();
    Napi::Object cuda = Napi::Object::New(env);
    cuda.Set("compiled", Napi::Boolean::New(env, st.compiled));
    cuda.Set("usable", Napi::Boolean::New(env, st.usable));
    cuda.Set("deviceCount", Napi::Number::New(env, st.deviceCount));
    cuda.Set("driverVersion", Napi::Number::New(env, st.driverVersion));
    cuda.Set("runtimeVersion", Napi::Number::New(env, st.runtimeVersion));
    cuda.Set("reason", Napi::String::New(env, st.reason));
    cuda.Set("architectures", Napi::String::New(env, st.architectures));
    Napi::Array devices = Napi::Array::New(env);
    if (st.usable) {
      for (int d = 0; d < st.deviceCount; ++d) {
        Napi::Object dev = Napi::Object::New(env);
        try {
          otca::gpu::DeviceProps p = otca::gpu::properties(d);
          dev.Set("index", Napi::Number::New(env, d));
          dev.Set("name", Napi::String::New(env, p.name));
          dev.Set("computeCapability", Napi::String::New(env, std::to_string(p.major) + "." + std::to_string(p.minor)));
          dev.Set("multiprocessors", Napi::Number::New(env, p.multiprocessors));
          dev.Set("memory", Napi::Number::New(env, static_cast<double>(p.totalMemory)));
          dev.Set("l2Bytes", Napi::Number::New(env, static_cast<double>(p.l2Bytes)));
        } catch (const std::exception& e) {
          dev.Set("index", Napi::Number::New(env, d));
          dev.Set("error", Napi::String::New(env, e.what()));
        }
        devices.Set(static_cast<uint32_t>(d), dev);
      }
    }
    cuda.Set("devices", devices);
    result.Set("cuda", cuda);
    return result;
  }

  // deviceAlloc(device, byteLengths[]): one allocation, one view per length (256-byte aligned).
  Napi::Value DeviceAlloc(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int device = GetDeviceIndex(env, info[0]);
    if (!info[1].IsArray()) throw Napi::TypeError::New(env, "Expected an Array of byte lengths for bytes but received another value");
    Napi::Array lengths = info[1].As<Napi::Array>();
    std::vector<size_t> offsets, sizes;
    size_t total = 0;
    for (uint32_t k = 0; k < lengths.Length(); ++k) {
      size_t n = GetByteLength(env, lengths.Get(k), "bytes[" + std::to_string(k) + "]");
      if (total > SIZE_MAX - n - 256) throw Napi::RangeError::New(env, "Expected a total that fits in memory for bytes but received more");
      offsets.push_back(total);
      sizes.push_back(n);
      total += (n + 255) / 256 * 256;
    }
    std::shared_ptr<Allocation> alloc =
        TranslateErrors(env, [&] { return AllocateDevice(env, device, total); });
    Napi::Array views = Napi::Array::New(env, sizes.size());
    for (uint32_t k = 0; k < sizes.size(); ++k) views.Set(k, NewView(env, alloc, offsets[k], sizes[k]));
    return views;
  }

  // deviceBorrow(device, pointer: bigint, bytes): a view of memory someone else owns.
  Napi::Value DeviceBorrow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int device = GetDeviceIndex(env, info[0]);
    if (!info[1].IsBigInt()) throw Napi::TypeError::New(env, "Expected bigint for pointer but received another value");
    bool lossless = false;
    uint64_t p = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless || p == 0) {
      throw Napi::RangeError::New(env, "Expected a non-zero 64-bit address for pointer but received " + info[1].ToString().Utf8Value());
    }
    size_t bytes = GetByteLength(env, info[2], "bytes");
    if (p > UINT64_MAX - bytes) throw Napi::RangeError::New(env, "Expected a range inside the address space for pointer but received one past its end");
    void* ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(p));
    return NewView(env, BorrowDevice(env, device, ptr, bytes), 0, bytes);
  }

  // deviceRelease(view): drops the view's share of its allocation; idempotent.
  Napi::Value DeviceRelease(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    UnwrapView(env, info[0], "view", /*allowReleased=*/true)->alloc.reset();
    return env.Undefined();
  }

  Napi::Value DevicePointer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DeviceView* view = UnwrapView(env, info[0], "view");
    return Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(view->ptr())));
  }

  // deviceCopy(dst, src): host<->device or device->device, synchronous.
  Napi::Value DeviceCopy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Copy c = Copy::Parse(env, info[0], info[1]);
    TranslateErrors(env, [&] { c.Run(); });
    return env.Undefined();
  }

  Napi::Value DeviceCopyAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Copy c = Copy::Parse(env, info[0], info[1]);
    return Queued(env, AsyncTask::Start(env, std::make_unique<CopyTask>(env, std::move(c), info[0], info[1]), "otca:copy"));
  }

  // readProbe(data: TypedArray, threads: number): bigint (the fold; see otca::cpu::read_probe).
  Napi::Value ReadProbe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const TypedArrayMemory m = TypedArrayOf(env, info[0], "TypedArray", "data");
    if (m.detached) {
      throw Napi::TypeError::New(env, "Expected a live (not detached) buffer for data but received a detached ArrayBuffer");
    }
    int threads = 0;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "Expected number for threads but received another value");
      double t = info[1].As<Napi::Number>().DoubleValue();
      if (!(t >= 0 && t <= 4096) || static_cast<double>(static_cast<int>(t)) != t) {
        throw Napi::RangeError::New(env, "Expected integer in [0, 4096] for threads but received " +
                                             info[1].ToString().Utf8Value());
      }
      threads = static_cast<int>(t);
    }
    const void* data = m.data;
    const size_t bytes = m.byteLength;
    uint64_t fold = TranslateErrors(env, [&] { return otca::cpu::read_probe(data, bytes, threads); });
    return Napi::BigInt::New(env, fold);
  }
};

}  // namespace
}  // namespace otca_addon

using otca_addon::OtcaAddon;
NODE_API_ADDON(OtcaAddon)
