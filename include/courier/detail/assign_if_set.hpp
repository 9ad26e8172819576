// Copying or moving an empty std::string or vector still goes through the
// library's out-of-line code; for members that are empty in most calls
// (context's strings and metadata) a test first is cheaper.
#ifndef COURIER_DETAIL_ASSIGN_IF_SET_HPP
#define COURIER_DETAIL_ASSIGN_IF_SET_HPP

#include <utility>

namespace courier::detail {

/// `dst = src` unless `src` is empty (then `dst`, default-constructed, stays).
template <class T, class U>
void assign_if_set(T& dst, U&& src) {
    if (!src.empty()) dst = std::forward<U>(src);
}

}  // namespace courier::detail

#endif
