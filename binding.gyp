# The from-source fallback that node-gyp-build points users at (`node-gyp rebuild`, `npm rebuild
# otca`): the same core as CMakeLists.txt, CPU-only (no CUDA, no cmake, no nvcc).
{
  "targets": [
    {
      "target_name": "otca",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('csrc/addon').filter(f => f.endsWith('.cc')).map(f => 'csrc/addon/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('csrc/core').filter(f => f.endsWith('.cpp')).map(f => 'csrc/core/' + f).join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "csrc/core"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fvisibility=hidden", "-fvisibility-inlines-hidden"],
      "ldflags": ["-pthread"],
      "conditions": [["OS=='linux'", { "ldflags": ["-Wl,-z,nodelete"] }]],
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
