// RAII for nghttp2's objects: each is freed by its own function, once, whatever the exit.
#pragma once

#include <nghttp2/nghttp2.h>

#include <memory>

namespace gatehouse::proxy::h2 {

struct SessionFree {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};
struct OptionFree {
  void operator()(nghttp2_option* o) const { nghttp2_option_del(o); }
};
struct CallbacksFree {
  void operator()(nghttp2_session_callbacks* c) const { nghttp2_session_callbacks_del(c); }
};
using SessionPtr = std::unique_ptr<nghttp2_session, SessionFree>;
using OptionPtr = std::unique_ptr<nghttp2_option, OptionFree>;
using CallbacksPtr = std::unique_ptr<nghttp2_session_callbacks, CallbacksFree>;

}  // namespace gatehouse::proxy::h2
