// The thin N-API binding of otca. Context-aware (Napi::Addon: per-environment instance data, so it
// loads in worker_threads). The raw contract is declared once, in lib/native.ts.
// Outputs are Float32Arrays allocated by the caller in JS, so results are zero-copy by
// construction; async calls hold a reference to every input and output until the work is done.
#include <napi.h>

#include <string>

#include "job.h"
#include "otca.h"

namespace otca_addon {
namespace {

// Runs a Job on the libuv pool and settles a Promise. Execute() never touches JS; the error kind
// is kept so the rejection has the same class as the synchronous throw would.
class JobWorker : public Napi::AsyncWorker {
 public:
  JobWorker(Napi::Env env, std::unique_ptr<Job> job)
      : Napi::AsyncWorker(env, "otca:job"), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      job_->Run();
    } catch (const otca::TypeError& e) {
      Fail(ErrorKind::Type, e.what());
    } catch (const otca::RangeError& e) {
      Fail(ErrorKind::Range, e.what());
    } catch (const otca::DeviceError& e) {
      Fail(ErrorKind::Device, e.what());
    } catch (const std::bad_alloc&) {
      Fail(ErrorKind::Range, "Expected enough host memory for otca but received an allocation failure");
    } catch (const std::exception& e) {
      Fail(ErrorKind::Other, e.what());
    } catch (...) {
      Fail(ErrorKind::Other, "otca: unknown native error");
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    job_->keepAlive.clear();  // the buffers may go now
    switch (errorKind_) {
      case ErrorKind::None:
        deferred_.Resolve(env.Undefined());
        return;
      case ErrorKind::Type:
        deferred_.Reject(Napi::TypeError::New(env, message_).Value());
        return;
      case ErrorKind::Range:
        deferred_.Reject(Napi::RangeError::New(env, message_).Value());
        return;
      default:
        deferred_.Reject(Napi::Error::New(env, message_).Value());
        return;
    }
  }

  void OnError(const Napi::Error& e) override {  // not reached: Execute never calls SetError
    job_->keepAlive.clear();
    deferred_.Reject(e.Value());
  }

 private:
  void Fail(ErrorKind kind, const char* message) {
    errorKind_ = kind;
    message_ = message;
  }

  std::unique_ptr<Job> job_;
  Napi::Promise::Deferred deferred_;
  ErrorKind errorKind_ = ErrorKind::None;
  std::string message_;
};

class OtcaAddon : public Napi::Addon<OtcaAddon> {
 public:
  OtcaAddon(Napi::Env /*env*/, Napi::Object exports) {
    DefineAddon(exports, {
        InstanceMethod("computeAdvantages", &OtcaAddon::ComputeAdvantages, napi_enumerable),
        InstanceMethod("computeAdvantagesAsync", &OtcaAddon::ComputeAdvantagesAsync, napi_enumerable),
        InstanceMethod("trajectoryCredit", &OtcaAddon::TrajectoryCredit, napi_enumerable),
        InstanceMethod("trajectoryCreditAsync", &OtcaAddon::TrajectoryCreditAsync, napi_enumerable),
        InstanceMethod("objectiveCredit", &OtcaAddon::ObjectiveCredit, napi_enumerable),
        InstanceMethod("objectiveCreditAsync", &OtcaAddon::ObjectiveCreditAsync, napi_enumerable),
        InstanceMethod("backendInfo", &OtcaAddon::BackendInfo, napi_enumerable),
        InstanceMethod("readProbe", &OtcaAddon::ReadProbe, napi_enumerable),
    });
  }

 private:
  static Napi::Value RunSync(const Napi::CallbackInfo& info, JobKind kind) {
    Napi::Env env = info.Env();
    std::unique_ptr<Job> job = ParseJob(env, info[0], kind, /*keepAlive=*/false);
    TranslateErrors(env, [&] { job->Run(); });
    return env.Undefined();
  }

  static Napi::Value RunAsync(const Napi::CallbackInfo& info, JobKind kind) {
    Napi::Env env = info.Env();
    std::unique_ptr<Job> job = ParseJob(env, info[0], kind, /*keepAlive=*/true);
    auto* worker = new JobWorker(env, std::move(job));  // deletes itself after OnOK
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  Napi::Value ComputeAdvantages(const Napi::CallbackInfo& info) { return RunSync(info, JobKind::Advantages); }
  Napi::Value ComputeAdvantagesAsync(const Napi::CallbackInfo& info) { return RunAsync(info, JobKind::Advantages); }
  Napi::Value TrajectoryCredit(const Napi::CallbackInfo& info) { return RunSync(info, JobKind::Trajectory); }
  Napi::Value TrajectoryCreditAsync(const Napi::CallbackInfo& info) { return RunAsync(info, JobKind::Trajectory); }
  Napi::Value ObjectiveCredit(const Napi::CallbackInfo& info) { return RunSync(info, JobKind::Objective); }
  Napi::Value ObjectiveCreditAsync(const Napi::CallbackInfo& info) { return RunAsync(info, JobKind::Objective); }

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
          dev.Set("name", Napi::String::New(env, p.name));
          dev.Set("computeCapability", Napi::String::New(env, std::to_string(p.major) + "." + std::to_string(p.minor)));
          dev.Set("multiprocessors", Napi::Number::New(env, p.multiprocessors));
          dev.Set("totalMemory", Napi::Number::New(env, static_cast<double>(p.totalMemory)));
          dev.Set("l2Bytes", Napi::Number::New(env, static_cast<double>(p.l2Bytes)));
        } catch (const std::exception& e) {
          dev.Set("error", Napi::String::New(env, e.what()));
        }
        devices.Set(static_cast<uint32_t>(d), dev);
      }
    }
    cuda.Set("devices", devices);
    result.Set("cuda", cuda);
    return result;
  }

  // readProbe(data: TypedArray, threads: number): bigint (the fold; see otca::cpu::read_probe).
  Napi::Value ReadProbe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray()) {
      throw Napi::TypeError::New(env, "Expected TypedArray for data but received another value");
    }
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    Napi::ArrayBuffer ab = ta.ArrayBuffer();
    if (ab.IsDetached()) {
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
    if (threads == 0) threads = otca::cpu::default_threads();
    const void* data = static_cast<const uint8_t*>(ab.Data()) + ta.ByteOffset();
    size_t bytes = ta.ByteLength();
    uint64_t fold = TranslateErrors(env, [&] { return otca::cpu::read_probe(data, bytes, threads); });
    return Napi::BigInt::New(env, fold);
  }
};

}  // namespace
}  // namespace otca_addon

using otca_addon::OtcaAddon;
NODE_API_ADDON(OtcaAddon)
