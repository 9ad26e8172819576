// The exception the throwing call forms raise: an error_code plus a
// diagnostic that says what was wrong and with what.
#ifndef COURIER_SYSTEM_ERROR_HPP
#define COURIER_SYSTEM_ERROR_HPP

#include <courier/error.hpp>

#include <boost/system/system_error.hpp>

#include <string>
#include <utility>

namespace courier {

/// Thrown by the `x(...)` call forms. `code()` is the precise error;
/// `diagnostic()` the detail (which field, which endpoint), possibly empty.
class system_error : public boost::system::system_error {
public:
    explicit system_error(error_code ec) : boost::system::system_error(ec) {}
    system_error(error_code ec, std::string diagnostic)
        : boost::system::system_error(ec, diagnostic), diagnostic_(std::move(diagnostic)) {}

    const std::string& diagnostic() const noexcept { return diagnostic_; }

private:
    std::string diagnostic_;
};

/// Throws courier::system_error when `ec` is a failure.
inline void throw_if(const error_code& ec) {
    if (ec) throw system_error(ec);
}

}  // namespace courier

#endif
