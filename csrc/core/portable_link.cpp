// Linked into the shared libraries otca ships, with -Wl,--wrap=arc4random (CMakeLists.txt
// otca_link_portable, binding.gyp): the statically linked libstdc++'s std::random_device refers to
// arc4random, which glibc has only since 2.36, although otca never makes a random_device (the
// exception classes pull its object file in). With the wrap, that reference lands here, on
// getrandom (glibc 2.25), and the binary's glibc floor stays where the rest of it puts it.
// The headers first: __GLIBC__ comes from them (features.h), so testing it before any include
// compiled this file empty and left __wrap_arc4random undefined in the binaries (harmless to a lazy
// loader such as Node's, fatal to an RTLD_NOW one such as Python's ctypes).
#if defined(__linux__)
#include <sys/random.h>
#include <sys/types.h>

#include <cstdint>
#endif

#if defined(__linux__) && defined(__GLIBC__)
extern "C" __attribute__((visibility("hidden"))) std::uint32_t __wrap_arc4random(void) {
  std::uint32_t value = 0;
  while (getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value)) {
  }
  return value;
}
#endif
