#include "async_task.h"

#include <exception>
#include <new>

#include "otca.h"

namespace otca_addon {

napi_value AsyncTask::Start(napi_env env, std::unique_ptr<AsyncTask> task, const char* name) {
  napi_value promise = nullptr, resourceName = nullptr;
  if (napi_create_promise(env, &task->deferred_, &promise) != napi_ok) return nullptr;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resourceName) != napi_ok ||
      napi_create_async_work(env, nullptr, resourceName, OnExecute, OnComplete, task.get(), &task->work_) !=
          napi_ok) {
    napi_value undefined = nullptr;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, task->deferred_, undefined);  // releases the deferred
    return nullptr;
  }
  if (napi_queue_async_work(env, task->work_) != napi_ok) {
    napi_delete_async_work(env, task->work_);
    napi_value undefined = nullptr;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, task->deferred_, undefined);
    return nullptr;
  }
  task.release();  // owned by the work item until OnComplete
  return promise;
}

void AsyncTask::ExecuteCatching() {
  try {
    Execute();
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

void AsyncTask::OnExecute(napi_env, void* data) { static_cast<AsyncTask*>(data)->ExecuteCatching(); }

void AsyncTask::OnComplete(napi_env env, napi_status status, void* data) {
  std::unique_ptr<AsyncTask> task(static_cast<AsyncTask*>(data));
  napi_handle_scope scope = nullptr;
  const bool scoped = napi_open_handle_scope(env, &scope) == napi_ok;
  task->Settle(env, status);
  napi_delete_async_work(env, task->work_);
  task.reset();  // releases the task's references and native resources, here on the JS thread
  if (scoped) napi_close_handle_scope(env, scope);
}

// Every call may fail where the environment is shutting down; then the promise is left unsettled
// (nothing can observe it any more) and nothing throws.
void AsyncTask::Settle(napi_env env, napi_status status) {
  if (status == napi_cancelled && errorKind_ == ErrorKind::None) {
    Fail(ErrorKind::Other, "otca: the call was cancelled because its JavaScript environment is shutting down");
  }
  if (errorKind_ == ErrorKind::None) {
    napi_value undefined = nullptr;
    if (napi_get_undefined(env, &undefined) == napi_ok) napi_resolve_deferred(env, deferred_, undefined);
    return;
  }
  napi_value message = nullptr, error = nullptr;
  if (napi_create_string_utf8(env, message_.c_str(), message_.size(), &message) != napi_ok) return;
  napi_status made;
  switch (errorKind_) {
    case ErrorKind::Type: made = napi_create_type_error(env, nullptr, message, &error); break;
    case ErrorKind::Range: made = napi_create_range_error(env, nullptr, message, &error); break;
    default: made = napi_create_error(env, nullptr, message, &error); break;
  }
  if (made == napi_ok) napi_reject_deferred(env, deferred_, error);
}

}  // namespace otca_addon
