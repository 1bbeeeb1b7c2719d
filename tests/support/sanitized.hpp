// Whether this test binary runs under AddressSanitizer or ThreadSanitizer (the asan preset adds
// UBSan to ASan). Some checks mean nothing there: RSS (freed memory sits in quarantine), and
// descriptor exhaustion (UBSan's vptr check opens a pipe to probe memory and misfires with none
// left); the plain build runs them.
#pragma once

namespace gatehouse::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace gatehouse::test
