// Work on the libuv thread pool that settles a Promise, written on the raw N-API calls so that its
// completion can never throw. node-addon-api's AsyncWorker settles through calls that throw a
// Napi::Error when JavaScript can no longer run; that happens when a Worker is terminated or calls
// process.exit(), or the main thread exits, while a call is in flight: Node then completes the work
// during the environment's teardown, and the exception escapes a C callback (std::terminate).
// Here every status is checked and a settle that cannot happen is dropped; the task (and whatever
// it holds: references, device allocations, staging) is destroyed on the JS thread either way.
#pragma once

#include <node_api.h>

#include <memory>
#include <string>

namespace otca_addon {

// Where an error came from, so a rejection has the class a synchronous throw would have.
enum class ErrorKind { None, Type, Range, Device, Other };

class AsyncTask {
 public:
  virtual ~AsyncTask() = default;

  // Queues `task` and returns its promise, or nullptr where it could not be queued. Takes ownership
  // in every case.
  static napi_value Start(napi_env env, std::unique_ptr<AsyncTask> task, const char* name);

 protected:
  // On a libuv thread: never touches JS. Report failures with Fail().
  virtual void Execute() = 0;
  void Fail(ErrorKind kind, std::string message) {
    errorKind_ = kind;
    message_ = std::move(message);
  }
  // Runs Execute, turning otca and standard exceptions into Fail().
  void ExecuteCatching();

 private:
  static void OnExecute(napi_env env, void* data);
  static void OnComplete(napi_env env, napi_status status, void* data);
  void Settle(napi_env env, napi_status status);

  napi_async_work work_ = nullptr;
  napi_deferred deferred_ = nullptr;
  ErrorKind errorKind_ = ErrorKind::None;
  std::string message_;
};

}  // namespace otca_addon
