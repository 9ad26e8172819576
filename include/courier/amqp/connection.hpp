// One AMQP 0-9-1 connection to a broker, driven by Asio: the socket (TCP, or
// TLS for amqps://), the handshake (PLAIN, tune, open), a read loop feeding
// the sans-io core, a write buffer that gathers every frame queued while the
// previous write was in flight into the next one, heartbeats on one timer,
// connection.blocked, channels, and a graceful close.
//
// Everything runs on one strand; the connection's functions must be called
// there (amqp::broker and the RPC classes do). Control methods (declare,
// bind, qos, consume...) are awaited as coroutines: they are rare. The data
// path (publish, deliveries, acks) is plain callbacks on the strand.
//
// When the connection fails (socket error, heartbeat timeout, the broker's
// connection.close) every channel learns it through its on_close hook and
// connection::on_lost is called once; reconnecting is the owner's business
// (amqp::broker does it with backoff).
#ifndef COURIER_AMQP_CONNECTION_HPP
#define COURIER_AMQP_CONNECTION_HPP

#include <courier/amqp/content_assembler.hpp>
#include <courier/amqp/error.hpp>
#include <courier/amqp/frame.hpp>
#include <courier/amqp/frame_reader.hpp>
#include <courier/amqp/frame_writer.hpp>
#include <courier/amqp/methods.hpp>
#include <courier/amqp/uri.hpp>
#include <courier/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace courier::amqp {

/// How to reach the broker and what to negotiate. The URI's query
/// parameters (heartbeat, frame_max, channel_max, connection_timeout)
/// override the fields below.
struct connection_options {
    /// amqp://user:password@host:port/vhost, or amqps:// for TLS.
    std::string uri = "amqp://guest:guest@127.0.0.1:5672/";
    /// Proposed heartbeat interval; 0 asks for none. The broker's proposal
    /// wins when it is lower (and not 0).
    std::chrono::seconds heartbeat{10};
    /// Largest frame we accept and send (bytes, frame overhead included).
    std::uint32_t frame_max = 128 * 1024;
    /// Most channels we open at once.
    std::uint16_t channel_max = 2047;
    /// Resolve + connect + TLS + handshake, in all.
    std::chrono::milliseconds connect_timeout{10'000};
    /// Shown in the management UI (client property connection_name).
    std::string name{};
    /// TLS settings for amqps://; null: the system's CAs, peer verified.
    std::shared_ptr<boost::asio::ssl::context> tls{};
    /// Largest message body buffered from the broker. A bigger one is not
    /// buffered: its channel's on_content sees it flagged too_large(), with
    /// no body, and its body frames go one by one to on_large_part.
    std::uint64_t max_body_size = 128u * 1024 * 1024;
};

namespace detail {

namespace asio = boost::asio;

/// A TCP or TLS stream, chosen at run time by the URI's scheme.
class stream {
public:
    using executor_type = asio::any_io_executor;
    using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;

    stream(const executor_type& ex, asio::ssl::context* tls) {
        if (tls) s_.template emplace<tls_stream>(ex, *tls);
        else s_.template emplace<asio::ip::tcp::socket>(ex);
    }

    asio::ip::tcp::socket& socket() noexcept {
        if (auto* t = std::get_if<tls_stream>(&s_)) return t->next_layer();
        return std::get<asio::ip::tcp::socket>(s_);
    }
    tls_stream* tls() noexcept { return std::get_if<tls_stream>(&s_); }

    template <class Buffers, class Handler>
    void async_read_some(const Buffers& b, Handler&& h) {
        if (auto* t = tls()) t->async_read_some(b, std::forward<Handler>(h));
        else socket().async_read_some(b, std::forward<Handler>(h));
    }
    template <class Buffers, class Handler>
    void async_write(const Buffers& b, Handler&& h) {
        if (auto* t = tls()) asio::async_write(*t, b, std::forward<Handler>(h));
        else asio::async_write(socket(), b, std::forward<Handler>(h));
    }

    void close() noexcept {
        error_code ignored;
        socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
    }

private:
    std::variant<std::monostate, asio::ip::tcp::socket, tls_stream> s_;
};

/// Sends `fn` to run on `ex` unless we are there already.
template <class Executor, class Fn>
void run_on(const Executor& ex, Fn&& fn) {
    asio::dispatch(ex, std::forward<Fn>(fn));
}

class connection;

/// One channel of a connection. Owned by the connection's table and by
/// whoever opened it; only touched on the connection's strand.
class channel : public std::enable_shared_from_this<channel> {
public:
    channel(connection& c, std::uint16_t id) : conn_(&c), id_(id) {}

    std::uint16_t id() const noexcept { return id_; }
    bool is_open() const noexcept { return open_; }

    /// Sends a synchronous method and waits for the broker's reply, which
    /// must be a `Reply`. Errors: the reply code of a channel.close the
    /// broker answered with (406 precondition_failed...), error::channel_closed
    /// or the connection's error when it went away, error::unexpected_frame
    /// for a reply of another type.
    template <class Reply, method_type M>
    boost::asio::awaitable<Reply> call(const M& m);

    /// Sends an asynchronous method (ack, nack, reject, cancel...). Ignored
    /// once the channel is closed: the broker has forgotten its deliveries.
    template <method_type M>
    void send(const M& m);

    /// basic.publish + content header + body frames, split at frame_max.
    error_code publish(const basic_publish& p, const basic_properties& props, std::string_view body);

    /// A publish whose body is not at hand yet (a delivery being forwarded
    /// as it arrives): basic.publish and the content header now, then the
    /// body through publish_part(), `body_size` bytes in all, with nothing
    /// else sent on this channel in between (spec 4.2.6).
    error_code begin_publish(const basic_publish& p, const basic_properties& props, std::uint64_t body_size);
    error_code publish_part(std::string_view part);

    /// channel.close, waiting for close-ok. Never fails (a dead connection
    /// closes every channel anyway).
    boost::asio::awaitable<void> close();

    /// Hooks, set by the owner. on_method: basic.ack/nack (confirms),
    /// basic.cancel (the broker cancelled a consumer), channel.flow.
    /// on_content: basic.deliver / basic.return / basic.get-ok with their
    /// content; for a body over max_body_size, at its header, with
    /// `too_large()` set and no body. on_large_part: each body frame of such
    /// a content (skipped without the hook). on_close: the channel is gone
    /// (the broker closed it with a reply code, or the connection failed);
    /// called once.
    std::function<void(method&)> on_method;
    std::function<void(content_assembler&)> on_content;
    std::function<void(content_assembler&)> on_large_part;
    std::function<void(error_code)> on_close;

private:
    friend class connection;
    using reply_handler = boost::asio::any_completion_handler<void(error_code, method)>;

    void deliver_method(method& m);
    void closed(error_code ec);

    connection* conn_;
    std::uint16_t id_;
    bool open_ = false;
    bool closing_ = false;
    std::deque<reply_handler> replies_;  // synchronous methods sent, in order
    std::optional<content_assembler> assembler_;
};

/// The connection proper. Create with std::make_shared; call open() on the
/// strand, then open channels.
class connection : public std::enable_shared_from_this<connection> {
public:
    using executor_type = asio::strand<asio::any_io_executor>;

    connection(asio::any_io_executor ex, connection_options opts)
        : strand_(asio::make_strand(std::move(ex))), opts_(std::move(opts)), timer_(strand_) {}

    const executor_type& get_executor() const noexcept { return strand_; }
    const connection_options& options() const noexcept { return opts_; }
    bool is_open() const noexcept { return state_ == state::open; }
    bool blocked() const noexcept { return blocked_; }
    std::uint32_t frame_max() const noexcept { return frame_max_; }
    std::chrono::seconds heartbeat() const noexcept { return std::chrono::seconds(heartbeat_); }
    /// Why the connection is not open; empty while it is.
    error_code error() const noexcept { return failure_; }

    /// Called once when the open connection fails or is closed.
    std::function<void(error_code)> on_lost;
    /// connection.blocked (true) and connection.unblocked (false).
    std::function<void(bool)> on_blocked;

    /// Resolves, connects, negotiates TLS and the AMQP handshake, within
    /// connect_timeout. Throws system_error: error::bad_uri, a resolve or
    /// connect error, error::timeout, the broker's reply code
    /// (access_refused for bad credentials, not_allowed for a bad vhost).
    asio::awaitable<void> open();

    /// Opens a channel (channel.open, waits for open-ok).
    asio::awaitable<std::shared_ptr<channel>> open_channel();

    /// connection.close and close-ok (at most `grace`), then the socket.
    asio::awaitable<void> close(std::chrono::milliseconds grace = std::chrono::milliseconds(2'000));

    /// Fails the connection at once (socket closed, hooks called).
    void abort(error_code why) { fail(why); }

    // -- used by channel
    template <method_type M>
    void send_method(std::uint16_t ch, const M& m) {
        if (state_ == state::closed) return;
        if (auto ec = append_method_frame(out_, ch, m)) return fail(ec);
        flush();
    }
    std::string& out() noexcept { return out_; }
    void flush();
    void write_out();
    void forget(std::uint16_t id) noexcept {
        if (id < channels_.size()) channels_[id] = nullptr;
    }

private:
    enum class state { idle, opening, open, closing, closed };

    asio::awaitable<void> handshake(const uri& u);
    asio::awaitable<void> read_frame(frame& f);  // handshake only
    void start_read();
    void on_read(error_code ec, std::size_t n);
    error_code dispatch(const frame& f);
    error_code on_connection_method(method& m);
    void on_written(error_code ec);
    void arm_heartbeat();
    void fail(error_code ec);
    void resume_reading() {
        read_paused_ = false;
        start_read();
    }
    std::size_t write_backlog_limit() const noexcept {
        return std::max<std::size_t>(std::size_t{1} << 20, std::size_t{8} * frame_max_);
    }

    executor_type strand_;
    connection_options opts_;
    std::unique_ptr<asio::ssl::context> own_tls_;
    std::optional<stream> stream_;
    asio::steady_timer timer_;  // connect deadline, then the heartbeat ticks
    state state_ = state::idle;
    error_code failure_{error::not_connected};
    frame_reader reader_;
    std::string out_, writing_;  // frames queued / in the write in flight
    bool write_pending_ = false;
    bool read_paused_ = false;  // out_ over write_backlog_limit(): see on_read
    bool read_since_tick_ = false, wrote_since_tick_ = false;
    unsigned silent_ticks_ = 0;
    bool blocked_ = false;
    std::uint32_t frame_max_ = 4096;
    std::uint16_t channel_max_ = 0;
    std::uint16_t heartbeat_ = 0;
    std::vector<std::shared_ptr<channel>> channels_;  // by id; 0 unused
    std::uint16_t next_channel_ = 1;
    std::optional<boost::asio::any_completion_handler<void(error_code)>> close_ok_;
    method scratch_;  // decoded methods land here, reusing its strings
};

// ---------------------------------------------------------------------------

template <class Reply, method_type M>
asio::awaitable<Reply> channel::call(const M& m) {
    if (!open_ && !std::is_same_v<M, channel_open>) throw system_error(error::channel_closed, "amqp channel");
    auto self = shared_from_this();
    conn_->send_method(id_, m);
    auto reply = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(error_code, method)>(
        [this](auto handler) {
            if (!conn_->is_open() && !std::is_same_v<M, channel_open>)
                return asio::post(conn_->get_executor(),
                                  [h = std::move(handler), ec = conn_->error()]() mutable { std::move(h)(ec, method{}); });
            replies_.emplace_back(std::move(handler));
        },
        asio::use_awaitable);
    if (auto* r = std::get_if<Reply>(&reply)) co_return std::move(*r);
    throw system_error(error::unexpected_frame,
                       std::string("amqp: expected a reply to ").append(method_name(method_key{M::class_id, M::method_id})));
}

template <method_type M>
void channel::send(const M& m) {
    if (open_) conn_->send_method(id_, m);
}

inline error_code channel::publish(const basic_publish& p, const basic_properties& props, std::string_view body) {
    if (!open_) return error::channel_closed;
    if (auto ec = append_publish(conn_->out(), id_, p, props, body, conn_->frame_max())) return ec;
    conn_->flush();
    return {};
}

inline error_code channel::begin_publish(const basic_publish& p, const basic_properties& props,
                                         std::uint64_t body_size) {
    if (!open_) return error::channel_closed;
    if (auto ec = append_publish_head(conn_->out(), id_, p, props, body_size, conn_->frame_max())) return ec;
    conn_->flush();
    return {};
}

inline error_code channel::publish_part(std::string_view part) {
    if (!open_) return error::channel_closed;
    append_body_frames(conn_->out(), id_, part, conn_->frame_max());
    conn_->flush();
    return {};
}

inline asio::awaitable<void> channel::close() {
    if (!open_ || closing_) co_return;
    closing_ = true;
    auto self = shared_from_this();
    try {
        const channel_close request{};  // named: GCC 12 destroys co_await temporaries twice
        (void)co_await call<channel_close_ok>(request);
    } catch (const boost::system::system_error&) {
    }
    closed(error::channel_closed);
}

inline void channel::deliver_method(method& m) {
    if (std::holds_alternative<channel_close>(m)) {
        // The broker closed the channel (an error in a method we sent):
        // confirm, then fail whatever waited on it with its reply code.
        const auto& c = std::get<channel_close>(m);
        auto ec = make_reply_error(c.reply_code);
        conn_->send_method(id_, channel_close_ok{});
        return closed(ec);
    }
    if (std::holds_alternative<basic_ack>(m) || std::holds_alternative<basic_nack>(m) ||
        std::holds_alternative<basic_cancel>(m) || std::holds_alternative<channel_flow>(m)) {
        if (std::holds_alternative<channel_flow>(m))
            conn_->send_method(id_, channel_flow_ok{std::get<channel_flow>(m).active});
        if (on_method) on_method(m);
        return;
    }
    if (std::holds_alternative<channel_close_ok>(m) && replies_.empty()) return closed(error::channel_closed);
    if (replies_.empty()) return;  // an unsolicited reply: nothing waits for it
    auto h = std::move(replies_.front());
    replies_.pop_front();
    if (std::holds_alternative<channel_open_ok>(m)) open_ = true;
    asio::post(conn_->get_executor(), [h = std::move(h), m = std::move(m)]() mutable { std::move(h)(error_code{}, std::move(m)); });
}

inline void channel::closed(error_code ec) {
    if (!open_ && replies_.empty() && !on_close) return;
    open_ = false;
    auto waiting = std::move(replies_);
    replies_.clear();
    for (auto& h : waiting)
        asio::post(conn_->get_executor(), [h = std::move(h), ec]() mutable { std::move(h)(ec, method{}); });
    conn_->forget(id_);
    if (auto hook = std::exchange(on_close, nullptr)) hook(ec);
    on_method = nullptr;
    on_content = nullptr;
    on_large_part = nullptr;
}

// ---------------------------------------------------------------------------

inline asio::awaitable<void> connection::open() {
    auto self = shared_from_this();
    uri u = parse_uri(opts_.uri);  // throws error::bad_uri, saying why
    if (u.heartbeat) opts_.heartbeat = std::chrono::seconds(*u.heartbeat);
    if (u.frame_max) opts_.frame_max = *u.frame_max;
    if (u.channel_max) opts_.channel_max = *u.channel_max;
    if (u.connection_timeout) opts_.connect_timeout = *u.connection_timeout;

    asio::ssl::context* tls = nullptr;
    if (u.tls) {
        if (!opts_.tls) {
            own_tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
            own_tls_->set_default_verify_paths();
            own_tls_->set_verify_mode(asio::ssl::verify_peer);
            tls = own_tls_.get();
        } else {
            tls = opts_.tls.get();
        }
    }
    // The socket runs on the strand's inner executor and every handler is
    // bound to the strand: a socket whose executor is the (type-erased)
    // strand would copy it into a new any_io_executor, a heap allocation, at
    // each read and write.
    stream_.emplace(strand_.get_inner_executor(), tls);
    state_ = state::opening;
    failure_ = {};

    // One deadline for everything: on expiry the socket closes, which ends
    // whatever step is running with operation_aborted.
    bool expired = false;
    timer_.expires_after(opts_.connect_timeout);
    timer_.async_wait([this, self, &expired](error_code ec) {
        if (ec || state_ != state::opening) return;
        expired = true;
        stream_->close();
    });
    try {
        asio::ip::tcp::resolver resolver(strand_);
        const auto port = std::to_string(u.port);
        auto endpoints = co_await resolver.async_resolve(u.host, port, asio::use_awaitable);
        co_await asio::async_connect(stream_->socket(), endpoints, asio::use_awaitable);
        stream_->socket().set_option(asio::ip::tcp::no_delay(true));
        if (auto* t = stream_->tls()) {
            // SNI names hosts, never addresses (RFC 6066).
            error_code not_ip;
            (void)asio::ip::make_address(u.host, not_ip);
            if (not_ip && !SSL_set_tlsext_host_name(t->native_handle(), u.host.c_str()))
                throw system_error(error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()),
                                   "amqp tls sni");
            t->set_verify_callback(asio::ssl::host_name_verification(u.host));
            co_await t->async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
        }
        co_await handshake(u);
    } catch (const boost::system::system_error& e) {
        timer_.cancel();
        state_ = state::closed;
        stream_->close();
        failure_ = expired ? error_code(courier::error::timeout) : e.code();
        if (expired) throw system_error(courier::error::timeout, "amqp connect");
        throw;
    }
    timer_.cancel();
    state_ = state::open;
    channels_.assign(static_cast<std::size_t>(channel_max_) + 1, nullptr);
    start_read();
    arm_heartbeat();
}

inline asio::awaitable<void> connection::read_frame(frame& f) {
    for (;;) {
        error_code ec;
        if (auto next = reader_.next(ec)) {
            f = *next;
            co_return;
        }
        if (ec) throw system_error(ec, "amqp handshake");
        auto span = reader_.prepare();
        auto buf = asio::buffer(span.data(), span.size());
        std::size_t n = 0;
        if (auto* t = stream_->tls()) n = co_await t->async_read_some(buf, asio::use_awaitable);
        else n = co_await stream_->socket().async_read_some(buf, asio::use_awaitable);
        reader_.commit(n);
    }
}

inline asio::awaitable<void> connection::handshake(const uri& u) {
    auto write_out = [this]() -> asio::awaitable<void> {
        std::string buf = std::exchange(out_, {});
        if (auto* t = stream_->tls()) co_await asio::async_write(*t, asio::buffer(buf), asio::use_awaitable);
        else co_await asio::async_write(stream_->socket(), asio::buffer(buf), asio::use_awaitable);
    };
    // Reads the next method on channel 0, skipping heartbeats; a
    // connection.close is the broker refusing (bad credentials, vhost).
    auto expect = [this]<class M>(std::type_identity<M>) -> asio::awaitable<M> {
        for (;;) {
            frame f;
            co_await read_frame(f);
            if (f.type == frame_type::heartbeat) continue;
            if (f.type != frame_type::method || f.channel != 0)
                throw system_error(error::unexpected_frame, "amqp handshake");
            if (auto ec = decode_method(f.payload, scratch_)) throw system_error(ec, "amqp handshake");
            if (auto* m = std::get_if<M>(&scratch_)) co_return std::move(*m);
            if (auto* c = std::get_if<connection_close>(&scratch_)) {
                out_.clear();
                (void)append_method_frame(out_, 0, connection_close_ok{});
                error_code ignored;
                if (auto* t = stream_->tls()) asio::write(*t, asio::buffer(out_), ignored);
                else asio::write(stream_->socket(), asio::buffer(out_), ignored);
                out_.clear();
                throw system_error(make_reply_error(c->reply_code), "amqp handshake: " + c->reply_text);
            }
            throw system_error(error::unexpected_frame,
                               std::string("amqp handshake: unexpected ").append(method_name(scratch_)));
        }
    };

    reader_.reset();
    out_.clear();
    append_protocol_header(out_);
    co_await write_out();

    auto start = co_await expect(std::type_identity<connection_start>{});
    if (start.mechanisms.find("PLAIN") == std::string::npos)
        throw system_error(error::unexpected_frame, "amqp handshake: the broker does not offer PLAIN");
    connection_start_ok ok;
    ok.client_properties = client_properties(opts_.name);
    ok.response = plain_response(u.user, u.password);
    if (auto ec = append_method_frame(out_, 0, ok)) throw system_error(ec, "amqp handshake");
    co_await write_out();

    auto tune = co_await expect(std::type_identity<connection_tune>{});
    // Zero means "no limit" on either side: the other side's value wins.
    auto negotiate = [](auto ours, auto theirs) {
        if (ours == 0 || theirs == 0) return std::max(ours, theirs);
        return std::min(ours, theirs);
    };
    channel_max_ = negotiate(opts_.channel_max, tune.channel_max);
    if (channel_max_ == 0) channel_max_ = 2047;
    frame_max_ = negotiate_frame_max(opts_.frame_max, tune.frame_max);
    // Our reader holds a whole frame: never agree to more than its bound.
    frame_max_ = std::min(frame_max_, frame_reader::unlimited_frame_max);
    heartbeat_ = static_cast<std::uint16_t>(
        opts_.heartbeat.count() == 0 ? 0
                                     : negotiate(static_cast<std::uint16_t>(std::min<long long>(opts_.heartbeat.count(), 65535)),
                                                 tune.heartbeat));
    if (auto ec = append_method_frame(out_, 0, connection_tune_ok{channel_max_, frame_max_, heartbeat_}))
        throw system_error(ec, "amqp handshake");
    reader_.set_frame_max(frame_max_);
    connection_open open;
    open.virtual_host = u.vhost;
    if (auto ec = append_method_frame(out_, 0, open)) throw system_error(ec, "amqp handshake");
    co_await write_out();
    (void)co_await expect(std::type_identity<connection_open_ok>{});
}

inline asio::awaitable<std::shared_ptr<channel>> connection::open_channel() {
    if (state_ != state::open) throw system_error(failure_ ? failure_ : error_code(error::not_connected), "amqp channel");
    // The lowest free id after the last one handed out, wrapping around.
    std::uint16_t id = 0;
    for (std::uint32_t i = 0; i < channel_max_; ++i) {
        const auto candidate = static_cast<std::uint16_t>((next_channel_ - 1 + i) % channel_max_ + 1);
        if (!channels_[candidate]) {
            id = candidate;
            break;
        }
    }
    if (id == 0) throw system_error(error::channel_closed, "amqp: every channel is in use (channel_max)");
    next_channel_ = static_cast<std::uint16_t>(id % channel_max_ + 1);
    auto ch = std::make_shared<channel>(*this, id);
    ch->assembler_.emplace(opts_.max_body_size);
    channels_[id] = ch;
    const channel_open request{};
    (void)co_await ch->call<channel_open_ok>(request);
    co_return ch;
}

inline asio::awaitable<void> connection::close(std::chrono::milliseconds grace) {
    if (state_ != state::open) co_return;
    auto self = shared_from_this();
    state_ = state::closing;
    connection_close c;
    c.reply_code = 200;
    c.reply_text = "goodbye";
    if (!append_method_frame(out_, 0, c)) flush();
    timer_.expires_after(grace);
    timer_.async_wait([this, self](error_code ec) {
        if (!ec && state_ == state::closing) fail(error::connection_closed);
    });
    // Wait for close-ok (or the grace timer, or a socket error).
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(error_code)>(
        [this](auto handler) {
            if (state_ == state::closed) return asio::post(strand_, [h = std::move(handler)]() mutable { std::move(h)(error_code{}); });
            close_ok_.emplace(std::move(handler));
        },
        asio::use_awaitable);
    fail(courier::error::broker_closed);
}

inline void connection::flush() {
    if (write_pending_ || out_.empty() || state_ == state::closed || state_ == state::idle) return;
    // Not written at once: the write goes out after the handlers already
    // queued on the strand ran, so a burst of publishes (each its own post)
    // leaves in one write, not one system call (and one broker read) each.
    write_pending_ = true;
    asio::post(strand_, [self = shared_from_this()] { self->write_out(); });
}

inline void connection::write_out() {
    if (state_ == state::closed) {
        write_pending_ = false;
        return;
    }
    std::swap(out_, writing_);
    out_.clear();
    wrote_since_tick_ = true;
    stream_->async_write(asio::buffer(writing_),
                         asio::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t) {
                             self->on_written(ec);
                         }));
}

inline void connection::on_written(error_code ec) {
    write_pending_ = false;
    if (ec) return fail(ec);
    // Keep the capacity of both buffers: steady publishing allocates nothing.
    writing_.clear();
    if (read_paused_ && out_.size() <= write_backlog_limit()) resume_reading();
    flush();
}

inline void connection::start_read() {
    auto span = reader_.prepare();
    stream_->async_read_some(asio::buffer(span.data(), span.size()), asio::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t n) {
                                 self->on_read(ec, n);
                             }));
}

inline void connection::on_read(error_code ec, std::size_t n) {
    if (state_ == state::closed) return;
    if (ec) {
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) ec = error::connection_closed;
        return fail(ec);
    }
    read_since_tick_ = true;
    reader_.commit(n);
    error_code e;
    while (auto next = reader_.next(e)) {
        if ((e = dispatch(*next))) return fail(e);
        if (state_ == state::closed) return;
    }
    if (e) return fail(e);
    // Reading waits while much is left to write (a large delivery being
    // forwarded, a burst of acks): what is read makes more to write, and
    // out_ would otherwise grow without bound when the broker reads slower
    // than it sends. on_written resumes, or the next heartbeat tick: a
    // write that takes longer must not keep us from reading the broker's
    // heartbeats (or its connection.blocked).
    if (out_.size() > write_backlog_limit()) {
        read_paused_ = true;
        return;
    }
    start_read();
}

inline error_code connection::dispatch(const frame& f) {
    if (f.type == frame_type::heartbeat) return {};
    if (f.channel == 0) {
        if (f.type != frame_type::method) return error::unexpected_frame;
        if (auto ec = decode_method(f.payload, scratch_)) return ec;
        return on_connection_method(scratch_);
    }
    auto ch = f.channel < channels_.size() ? channels_[f.channel] : nullptr;
    if (!ch) return {};  // a frame for a channel we closed: late, harmless
    error_code ec;
    switch (ch->assembler_->feed(f, ec)) {
    case content_assembler::event::none: break;
    case content_assembler::event::method: ch->deliver_method(ch->assembler_->current_method()); break;
    case content_assembler::event::content:
    case content_assembler::event::large_content:
        if (ch->on_content) ch->on_content(*ch->assembler_);
        break;
    case content_assembler::event::large_part:
        if (ch->on_large_part) ch->on_large_part(*ch->assembler_);
        break;
    }
    return ec;
}

inline error_code connection::on_connection_method(method& m) {
    if (auto* c = std::get_if<connection_close>(&m)) {
        // The broker closes (shutdown, a forced close, a connection-level
        // error in what we sent): confirm, then fail with its reply code.
        (void)append_method_frame(out_, 0, connection_close_ok{});
        flush();
        fail(make_reply_error(c->reply_code));
        return {};
    }
    if (std::holds_alternative<connection_close_ok>(m)) {
        if (close_ok_) {
            auto h = std::move(*close_ok_);
            close_ok_.reset();
            asio::post(strand_, [h = std::move(h)]() mutable { std::move(h)(error_code{}); });
        }
        return {};
    }
    if (std::holds_alternative<connection_blocked>(m) || std::holds_alternative<connection_unblocked>(m)) {
        blocked_ = std::holds_alternative<connection_blocked>(m);
        if (on_blocked) on_blocked(blocked_);
        return {};
    }
    if (std::holds_alternative<connection_update_secret>(m)) return {};
    return error::unexpected_frame;
}

inline void connection::arm_heartbeat() {
    if (heartbeat_ == 0 || state_ == state::closed) return;
    // One timer for both directions, ticking at half the interval: a tick
    // with nothing written sends a heartbeat; four ticks (two intervals)
    // with nothing read mean the broker is gone.
    timer_.expires_after(std::chrono::milliseconds(heartbeat_) * 500);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec || self->state_ == state::closed) return;
        if (self->read_paused_) self->resume_reading();
        if (self->read_since_tick_) self->silent_ticks_ = 0;
        else if (++self->silent_ticks_ >= 4) return self->fail(error::heartbeat_timeout);
        self->read_since_tick_ = false;
        if (!self->wrote_since_tick_ && !self->write_pending_) {
            append_heartbeat_frame(self->out_);
            self->flush();
        }
        self->wrote_since_tick_ = false;
        self->arm_heartbeat();
    });
}

inline void connection::fail(error_code ec) {
    if (state_ == state::closed) return;
    const bool was_open = state_ == state::open || state_ == state::closing;
    state_ = state::closed;
    failure_ = ec;
    timer_.cancel();
    if (stream_) stream_->close();
    if (close_ok_) {
        auto h = std::move(*close_ok_);
        close_ok_.reset();
        asio::post(strand_, [h = std::move(h)]() mutable { std::move(h)(error_code{}); });
    }
    auto channels = std::move(channels_);
    channels_.clear();
    for (auto& ch : channels)
        if (ch) ch->closed(ec);
    if (was_open)
        if (auto hook = std::exchange(on_lost, nullptr)) hook(ec);
}

}  // namespace detail
}  // namespace courier::amqp

#endif
