// The in-process "network": the namespace where in-process endpoints live.
// Servers bind names in it, channels call them. One per test or per process.
#ifndef COURIER_INPROC_NETWORK_HPP
#define COURIER_INPROC_NETWORK_HPP

#include <courier/inproc/detail/endpoint.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace courier::inproc {

/// A registry of endpoint names. Copies share one registry; it lives as long
/// as any copy, server or channel using it. Thread-safe.
class network {
public:
    network() : impl_(std::make_shared<impl>()) {}

    /// Names with a server bound right now.
    std::size_t bound_endpoints() const {
        std::lock_guard lock(impl_->mutex);
        std::size_t n = 0;
        for (const auto& [name, slot] : impl_->slots) n += slot->get() != nullptr;
        return n;
    }

    /// The slot for `name`, created on first use. For servers and channels.
    std::shared_ptr<detail::endpoint_slot> slot(std::string_view name) const {
        std::lock_guard lock(impl_->mutex);
        auto& s = impl_->slots[std::string(name)];
        if (!s) s = std::make_shared<detail::endpoint_slot>();
        return s;
    }

private:
    struct impl {
        mutable std::mutex mutex;
        std::unordered_map<std::string, std::shared_ptr<detail::endpoint_slot>> slots;
    };
    std::shared_ptr<impl> impl_;
};

}  // namespace courier::inproc

#endif
