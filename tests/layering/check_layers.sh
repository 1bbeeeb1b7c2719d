#!/bin/sh
# The module arrows are enforced by the compiler: each module's include root holds only the
# folders it may include. This checks each root's contents, and that a source of a module that
# includes a module above it fails to compile while an allowed include compiles.
# Usage: check_layers.sh <c++ compiler> <build dir>/include-roots
set -u
cxx=$1
roots=$2
status=0
expect_root() {  # module, the folders it may see
  module=$1; shift
  have=$(ls "$roots/$module" | sort | tr '\n' ' ')
  want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
  if [ "$have" != "$want" ]; then
    echo "FAIL: $module sees [$have], expected [$want]"; status=1
  fi
}
expect_root common common
expect_root conf common conf
expect_root metrics common metrics
expect_root tls common conf tls
expect_root policy common conf tls policy
expect_root proxy common conf tls policy metrics proxy
expect_root app common conf tls policy metrics proxy app

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
compiles() {  # module root, header
  printf '#include "%s"\n' "$2" >"$probe/probe.cpp"
  "$cxx" -std=c++20 -fsyntax-only -I "$roots/$1" "$probe/probe.cpp" 2>"$probe/err"
}
refused() {  # module, a header it must not reach
  if compiles "$1" "$2"; then
    echo "FAIL: a $1 source compiled with #include \"$2\""; status=1
  elif ! grep -q "$2" "$probe/err"; then
    echo "FAIL: including $2 from $1 failed for another reason:"; cat "$probe/err"; status=1
  fi
}
allowed() {  # module, a self-contained header it may reach
  if ! compiles "$1" "$2"; then
    echo "FAIL: a $1 source could not include \"$2\":"; cat "$probe/err"; status=1
  fi
}
refused tls proxy/splice.hpp
refused tls policy/router.hpp
refused conf tls/reason_alert.hpp
refused metrics conf/duration.hpp
refused policy proxy/splice.hpp
refused proxy app/default_config.hpp
refused common conf/duration.hpp
allowed tls conf/duration.hpp
allowed metrics common/reason.hpp
allowed app app/default_config.hpp
[ $status = 0 ] && echo "layering: every module sees only the modules below it"
exit $status
