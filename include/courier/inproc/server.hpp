// Binds request handlers to in-process endpoint names.
#ifndef COURIER_INPROC_SERVER_HPP
#define COURIER_INPROC_SERVER_HPP

#include <courier/codec/json.hpp>
#include <courier/inproc/network.hpp>
#include <courier/server.hpp>
#include <courier/system_error.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace courier::inproc {

/// Serves handlers on in-process endpoints. Handlers run on the server's
/// executor; callers may be on any thread or io_context. When several
/// threads run that executor's context, use a strand if handlers share
/// state; a coroutine or service handler whose caller can cancel runs on a
/// strand of the executor of its own, where that cancellation is emitted.
/// Closing (or destroying) the server unbinds its endpoints: later calls
/// fail with error::unknown_endpoint; calls already started finish.
class server {
public:
    server(network net, boost::asio::any_io_executor ex) : net_(std::move(net)), ex_(std::move(ex)) {}
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    server(server&&) = default;
    server& operator=(server&& o) noexcept {
        if (this != &o) {
            close();
            net_ = std::move(o.net_);
            ex_ = std::move(o.ex_);
            bound_ = std::move(o.bound_);
        }
        return *this;
    }
    ~server() { close(); }

    /// Binds `handler` (see courier::request_handler) for `Req -> Rep` to
    /// `name`. The codec serves callers whose types differ from Req/Rep or
    /// that ask for wire mode. Fails with error::already_exists (throws
    /// courier::system_error) when another server holds the name.
    template <class Req, class Rep, class Codec = json_codec, class Handler>
        requires request_handler<Handler, Req, Rep> && codec_for<Codec, Req> && codec_for<Codec, Rep>
    void bind(std::string_view name, Handler handler, Codec codec = {}) {
        auto slot = net_.slot(name);
        auto ep = std::make_shared<detail::endpoint<Req, Rep, Handler, Codec>>(std::move(handler),
                                                                             std::move(codec), ex_);
        {
            std::lock_guard lock(slot->mutex);
            if (slot->current)
                throw system_error(error::already_exists,
                                   "inproc endpoint '" + std::string(name) + "' is already bound");
            slot->current = ep;
        }
        bound_.push_back({std::move(slot), std::move(ep)});
    }

    /// Unbinds every endpoint of this server. Idempotent.
    void close() noexcept {
        for (auto& b : bound_) {
            std::lock_guard lock(b.slot->mutex);
            if (b.slot->current == b.endpoint) b.slot->current.reset();
        }
        bound_.clear();
    }

    const boost::asio::any_io_executor& get_executor() const noexcept { return ex_; }

private:
    struct binding {
        std::shared_ptr<detail::endpoint_slot> slot;
        std::shared_ptr<detail::endpoint_base> endpoint;
    };
    network net_;
    boost::asio::any_io_executor ex_;
    std::vector<binding> bound_;
};

}  // namespace courier::inproc

#endif
