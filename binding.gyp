# The from-source CPU-only build (in an installed package, where it ships as src/binding.gyp:
# `node node_modules/otca/src/build-from-source.mjs --gyp`): the sources of CMakeLists.txt's `otca`
# target without CUDA (csrc/cuda/no_cuda.cpp in its place): no cmake, no nvcc. On Linux it links
# as CMakeLists.txt's otca_link_portable does (libstdc++ linked in, where g++ has a static one).
{
  "targets": [
    {
      "target_name": "otca",
      "sources": [
        "csrc/addon/addon.cc",
        "csrc/addon/async_task.cc",
        "csrc/addon/device_memory.cc",
        "csrc/addon/job.cc",
        "csrc/addon/plan.cc",
        "csrc/core/common.cpp",
        "csrc/core/plan.cc",
        "csrc/core/portable_link.cpp",
        "csrc/cpu/cosine_partials.cpp",
        "csrc/cpu/cpu_backend.cpp",
        "csrc/cpu/thread_pool.cpp",
        "csrc/cuda/no_cuda.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "csrc/core",
        "csrc/cpu",
        "csrc/addon"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fvisibility=hidden", "-fvisibility-inlines-hidden"],
      "ldflags": ["-pthread"],
      "variables": {
        "otca_static_libstdcxx": "<!(f=$(${CXX:-c++} -print-file-name=libstdc++.a 2>/dev/null); test \"${f#/}\" != \"$f\" && echo 1 || echo 0)"
      },
      "conditions": [
        ["OS=='linux'", { "ldflags": ["-Wl,-z,nodelete"] }],
        ["OS=='linux' and otca_static_libstdcxx==1", {
          "ldflags": ["-static-libstdc++", "-Wl,--exclude-libs,ALL", "-Wl,--wrap=arc4random"]
        }]
      ],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-O3"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] }
      }
    }
  ]
}
