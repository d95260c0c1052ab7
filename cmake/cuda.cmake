# The CUDA backend, included by CMakeLists.txt when OTCA_CUDA is ON. Where a CUDA compiler is found:
# OTCA_HAVE_CUDA ON and otca_cuda_target(<target>) to give a target the kernels' flags, the static
# CUDA runtime and the architecture list. Never libcuda: the static runtime dlopens the driver when
# first used, so the addon loads (and runs the CPU backend) where no driver exists. No CUDA
# compiler: say so and stay CPU-only.
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER OR NOT EXISTS "${CMAKE_CUDA_COMPILER}")
  message(STATUS "otca: no CUDA compiler found; building the CPU backend only")
  return()
endif()

# OTCA_CUDA_ARCHITECTURES (auto, shipped or a list) as the list it stands for, in this scope
include(${CMAKE_CURRENT_LIST_DIR}/cuda_architectures.cmake)
otca_resolve_cuda_architectures("${OTCA_CUDA_ARCHITECTURES}" OTCA_CUDA_ARCHITECTURES)
set(CMAKE_CUDA_ARCHITECTURES "${OTCA_CUDA_ARCHITECTURES}")
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
enable_language(CUDA)
# QUIET: it would report the math libraries' headers (cublas_v2.h), which otca does not use
find_package(CUDAToolkit REQUIRED QUIET)
set(OTCA_HAVE_CUDA ON)  # include() shares the including scope

# The architecture list reaches gpu::status() through a generated header: a definition holding
# ';' would be split by CMake into several.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/otca_cuda_config.h.in
     "#define OTCA_CUDA_ARCHITECTURES_STRING \"@OTCA_CUDA_ARCHITECTURES@\"\n")
configure_file(${CMAKE_CURRENT_BINARY_DIR}/otca_cuda_config.h.in
               ${CMAKE_CURRENT_BINARY_DIR}/otca_cuda_config/otca_cuda_config.h @ONLY)

function(otca_cuda_target target)
  set_target_properties(${target} PROPERTIES CUDA_ARCHITECTURES "${OTCA_CUDA_ARCHITECTURES}"
                                             CUDA_RUNTIME_LIBRARY Static)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/otca_cuda_config csrc/cuda)
  target_compile_definitions(${target} PRIVATE OTCA_HAVE_CUDA_CONFIG)
  # -fmad=false: no multiply-add contraction the host compiler does not do, so the float64 finishing
  # math matches the CPU backend's bits (the float32 streaming loop asks for fmaf explicitly).
  # No --use_fast_math: IEEE division and square root in the finishing math.
  # --compress-mode=size: the fatbin's images (eight in the prebuild) compressed for size
  # (advantage_step.cu's object 6.1 MB -> 0.9 MB; the driver, R580+ for this runtime anyway, expands
  # the one it loads).
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-O3 -fmad=false -Xcompiler=-fPIC --compress-mode=size>)
  target_link_libraries(${target} PRIVATE CUDA::cudart_static)
  message(STATUS "otca: CUDA ${CMAKE_CUDA_COMPILER_VERSION} for ${OTCA_CUDA_ARCHITECTURES} (${target}), static runtime")
endfunction()
