# Which CUDA architectures a build compiles (included by cmake/cuda.cmake; also run alone by the
# tests: test/cpu/build-config.test.ts). OTCA_CUDA_ARCHITECTURES (CMakeLists.txt) takes:
#   auto     (the default) what this machine can use: each GPU that `nvidia-smi --query-gpu=compute_cap`
#            lists, as machine code (e.g. 90-real); where it lists none (no GPU, no driver, no
#            nvidia-smi), ONE PTX target, 75-virtual: CUDA stays compiled in, and a GPU added later
#            still runs it (the driver JIT-compiles the PTX, once, on first use).
#   shipped  every architecture the prebuild ships (OTCA_CUDA_SHIPPED_ARCHITECTURES); the prebuild
#            and `npm run pack:tarball` ask for it (scripts/node-gyp-shim.mjs).
#   a list   as CMake's CUDA_ARCHITECTURES takes it (e.g. 90-real, or 86-real;90-real): used as given.
# OTCA_NVIDIA_SMI names the nvidia-smi to ask (default: the one on PATH).

# compute capabilities 7.5 to 12.0 as machine code, and PTX of 12.0 for newer GPUs (README "GPUs and
# drivers"; scripts/cuda-static-checks.sh checks the same list)
set(OTCA_CUDA_SHIPPED_ARCHITECTURES "75-real;80-real;86-real;89-real;90-real;100-real;120-real;120-virtual")
set(OTCA_CUDA_FALLBACK_ARCHITECTURE "75-virtual")

# otca_resolve_cuda_architectures(<value> <out-var>): the list <value> stands for (above).
function(otca_resolve_cuda_architectures value out)
  if(value STREQUAL "shipped")
    set(${out} "${OTCA_CUDA_SHIPPED_ARCHITECTURES}" PARENT_SCOPE)
    return()
  elseif(NOT value STREQUAL "auto" AND NOT value STREQUAL "")
    set(${out} "${value}" PARENT_SCOPE)
    return()
  endif()
  if(NOT OTCA_NVIDIA_SMI)
    find_program(OTCA_NVIDIA_SMI_FOUND nvidia-smi NO_CACHE)
    set(OTCA_NVIDIA_SMI "${OTCA_NVIDIA_SMI_FOUND}")
  endif()
  set(found "")
  if(OTCA_NVIDIA_SMI AND EXISTS "${OTCA_NVIDIA_SMI}")
    execute_process(COMMAND "${OTCA_NVIDIA_SMI}" --query-gpu=compute_cap --format=csv,noheader
                    OUTPUT_VARIABLE caps RESULT_VARIABLE rc ERROR_QUIET TIMEOUT 30)
    if(rc EQUAL 0)
      string(REGEX MATCHALL "[0-9]+\\.[0-9]+" caps "${caps}")
      foreach(cap IN LISTS caps)
        string(REPLACE "." "" cap "${cap}")
        list(APPEND found "${cap}-real")
      endforeach()
      list(REMOVE_DUPLICATES found)
    endif()
  endif()
  if(NOT found)
    set(found "${OTCA_CUDA_FALLBACK_ARCHITECTURE}")
  endif()
  set(${out} "${found}" PARENT_SCOPE)
endfunction()
