// The sans-io AMQP 0-9-1 protocol core in one include: frames in and out,
// methods, properties and field tables, content assembly, and amqp:// URIs.
// No sockets here; the connection is built on top of these.
#ifndef COURIER_AMQP_PROTOCOL_HPP
#define COURIER_AMQP_PROTOCOL_HPP

#include <courier/amqp/content_assembler.hpp>
#include <courier/amqp/error.hpp>
#include <courier/amqp/field_table.hpp>
#include <courier/amqp/frame.hpp>
#include <courier/amqp/frame_reader.hpp>
#include <courier/amqp/frame_writer.hpp>
#include <courier/amqp/methods.hpp>
#include <courier/amqp/properties.hpp>
#include <courier/amqp/uri.hpp>

#endif
