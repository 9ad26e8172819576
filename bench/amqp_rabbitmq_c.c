/* The rabbitmq-c baseline of the AMQP benchmarks (bench/amqp.sh): what a C
 * user of librabbitmq writes for confirmed publishing and acked consuming.
 *   amqp_bench_rabbitmq_c URL [MESSAGES [SIZE [WINDOW [PREFETCH]]]]
 * (defaults 100000 messages of 256 bytes, window 1000, prefetch 1000).
 *
 * Publish: confirm.select, then MESSAGES transient messages through the
 * default exchange into a fresh queue, keeping up to WINDOW unconfirmed: when
 * the window is full, block for the broker's next frame (basic.ack, usually
 * with multiple=1) and take every frame already read with it, then publish
 * again. rabbitmq-c is blocking, so a full window is the only time it reads;
 * that is also what a user of it would write (polling the socket after each
 * publish costs a system call each). Timed from the first publish to the last
 * confirm.
 * Consume: basic.qos(PREFETCH), basic.consume, and a basic.ack of its own for
 * every message (no multiple: a consumer acks each message once it has
 * handled it, which is what courier's handler-returns-then-ack does). Timed
 * from basic.consume to basic.cancel-ok after the last ack, so the broker has
 * taken every ack.
 * Prints one JSON line: for each phase its length, messages/s and this
 * process's CPU time (user + system, getrusage) per message in µs. Exits
 * non-zero on any failure, a nack, or a message count that does not match.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, strdup, getpid */

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const amqp_channel_t channel = 1;

static void die(const char *what) {
  fprintf(stderr, "amqp_bench_rabbitmq_c: %s\n", what);
  exit(1);
}

static void check_reply(amqp_rpc_reply_t reply, const char *what) {
  char message[512];
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      snprintf(message, sizeof message, "%s: %s", what, amqp_error_string2(reply.library_error));
      break;
    case AMQP_RESPONSE_SERVER_EXCEPTION: {
      const amqp_connection_close_t *close = reply.reply.decoded;
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD || reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        snprintf(message, sizeof message, "%s: closed by the broker: %u %.*s", what, close->reply_code,
                 (int)close->reply_text.len, (const char *)close->reply_text.bytes);
      } else {
        snprintf(message, sizeof message, "%s: unexpected method 0x%08x", what, reply.reply.id);
      }
      break;
    }
    default:
      snprintf(message, sizeof message, "%s: no reply", what);
  }
  die(message);
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

struct phase {
  double seconds, cpu;
};

static unsigned long number(int argc, char **argv, int i, unsigned long fallback) {
  if (argc <= i) return fallback;
  char *end = NULL;
  unsigned long v = strtoul(argv[i], &end, 10);
  if (*end != '\0' || v == 0) die("MESSAGES, SIZE, WINDOW and PREFETCH are positive numbers");
  return v;
}

/* Reads one frame (blocking) and counts the confirms in it. */
static void take_confirm(amqp_connection_state_t conn, uint64_t *confirmed) {
  amqp_frame_t frame;
  int status = amqp_simple_wait_frame(conn, &frame);
  if (status != AMQP_STATUS_OK) die(amqp_error_string2(status));
  if (frame.frame_type != AMQP_FRAME_METHOD) die("unexpected frame while waiting for confirms");
  if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
    const amqp_basic_ack_t *ack = frame.payload.method.decoded;
    /* Acks come in order: a multiple ack confirms up to its tag. */
    *confirmed = ack->multiple ? ack->delivery_tag : *confirmed + 1;
  } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
    die("the broker nacked a message");
  } else {
    die("unexpected method while waiting for confirms (channel closed?)");
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s URL [MESSAGES [SIZE [WINDOW [PREFETCH]]]]\n", argv[0]);
    return 2;
  }
  const unsigned long messages = number(argc, argv, 2, 100000);
  const unsigned long size = number(argc, argv, 3, 256);
  const unsigned long window = number(argc, argv, 4, 1000);
  const unsigned long prefetch = number(argc, argv, 5, 1000);

  char *url = strdup(argv[1]);
  struct amqp_connection_info info;
  amqp_default_connection_info(&info);
  if (amqp_parse_url(url, &info) != AMQP_STATUS_OK) die("cannot parse the URL");
  /* rabbitmq-c reads "amqp://host:port/" as the vhost "" (the URI spec's
   * reading); amqplib, and the URLs the tests hand out, mean "/". */
  if (info.vhost[0] == '\0') info.vhost = "/";

  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t *socket = amqp_tcp_socket_new(conn);
  if (socket == NULL) die("cannot create a socket");
  if (amqp_socket_open(socket, info.host, info.port) != AMQP_STATUS_OK) die("cannot connect");
  /* The broker's heartbeat (60 s) as other clients take it; the default frame size. */
  check_reply(amqp_login(conn, info.vhost, 0, AMQP_DEFAULT_FRAME_SIZE, 60, AMQP_SASL_METHOD_PLAIN, info.user,
                         info.password),
              "login");
  amqp_channel_open(conn, channel);
  check_reply(amqp_get_rpc_reply(conn), "channel.open");

  char queue_name[64];
  snprintf(queue_name, sizeof queue_name, "bench.rabbitmq-c.%ld", (long)getpid());
  const amqp_bytes_t queue = amqp_cstring_bytes(queue_name);
  amqp_queue_declare(conn, channel, queue, 0, 0, 0, 0, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(conn), "queue.declare");
  amqp_confirm_select(conn, channel);
  check_reply(amqp_get_rpc_reply(conn), "confirm.select");

  char *body = malloc(size);
  memset(body, 'x', size);
  const amqp_bytes_t payload = {size, body};
  amqp_basic_properties_t properties;
  memset(&properties, 0, sizeof properties);
  properties._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  properties.content_type = amqp_cstring_bytes("application/octet-stream");
  properties.delivery_mode = 1; /* transient */

  /* --- publish, at most `window` unconfirmed ------------------------------ */
  struct phase publish;
  double t0 = now_seconds(), c0 = cpu_seconds();
  uint64_t published = 0, confirmed = 0;
  while (published < messages) {
    while (published - confirmed >= window) {
      take_confirm(conn, &confirmed);
      while (amqp_frames_enqueued(conn) || amqp_data_in_buffer(conn)) take_confirm(conn, &confirmed);
    }
    if (amqp_basic_publish(conn, channel, amqp_empty_bytes, queue, 0, 0, &properties, payload) != AMQP_STATUS_OK)
      die("basic.publish failed");
    ++published;
  }
  while (confirmed < published) take_confirm(conn, &confirmed);
  publish.seconds = now_seconds() - t0;
  publish.cpu = cpu_seconds() - c0;

  /* --- consume, ack each message ------------------------------------------ */
  struct phase consume;
  unsigned long received = 0, redelivered = 0;
  t0 = now_seconds();
  c0 = cpu_seconds();
  amqp_basic_qos(conn, channel, 0, (uint16_t)(prefetch > 65535 ? 65535 : prefetch), 0);
  check_reply(amqp_get_rpc_reply(conn), "basic.qos");
  amqp_basic_consume_ok_t *ok = amqp_basic_consume(conn, channel, queue, amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  check_reply(amqp_get_rpc_reply(conn), "basic.consume");
  amqp_bytes_t tag = amqp_bytes_malloc_dup(ok->consumer_tag);
  while (received < messages) {
    amqp_envelope_t envelope;
    amqp_maybe_release_buffers(conn);
    check_reply(amqp_consume_message(conn, &envelope, NULL, 0), "consume");
    if (envelope.message.body.len != size) die("a message of the wrong size");
    redelivered += envelope.redelivered ? 1 : 0;
    if (amqp_basic_ack(conn, channel, envelope.delivery_tag, 0) != AMQP_STATUS_OK) die("basic.ack failed");
    amqp_destroy_envelope(&envelope);
    ++received;
  }
  amqp_basic_cancel(conn, channel, tag);
  check_reply(amqp_get_rpc_reply(conn), "basic.cancel");
  consume.seconds = now_seconds() - t0;
  consume.cpu = cpu_seconds() - c0;

  amqp_queue_delete_ok_t *deleted = amqp_queue_delete(conn, channel, queue, 0, 0);
  check_reply(amqp_get_rpc_reply(conn), "queue.delete");
  if (deleted->message_count != 0) die("messages left in the queue");
  amqp_bytes_free(tag);
  check_reply(amqp_channel_close(conn, channel, AMQP_REPLY_SUCCESS), "channel.close");
  check_reply(amqp_connection_close(conn, AMQP_REPLY_SUCCESS), "connection.close");
  amqp_destroy_connection(conn);
  free(body);
  free(url);

  printf("{\"impl\": \"rabbitmq-c\", \"messages\": %lu, \"size\": %lu, \"window\": %lu, \"prefetch\": %lu, "
         "\"publish\": {\"seconds\": %.6f, \"messages_per_second\": %.1f, \"cpu_us_per_message\": %.3f}, "
         "\"consume\": {\"seconds\": %.6f, \"messages_per_second\": %.1f, \"cpu_us_per_message\": %.3f, "
         "\"redelivered\": %lu}}\n",
         messages, size, window, prefetch, publish.seconds, (double)messages / publish.seconds,
         publish.cpu * 1e6 / (double)messages, consume.seconds, (double)messages / consume.seconds,
         consume.cpu * 1e6 / (double)messages, redelivered);
  return 0;
}
