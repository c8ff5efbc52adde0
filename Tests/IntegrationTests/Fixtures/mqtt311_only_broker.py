#!/usr/bin/env python3
"""A stand-in for an MQTT 3.1.1-only broker. It answers protocol level 5 the way one of the real
ones does, by the mode given as the third argument:
  refuse  CONNACK return code 1, then close (mosquitto in 3.1.1 mode; the default);
  close   close the connection without a CONNACK (RabbitMQ 3.10);
  silent  never answer, keep the connection open (amqtt);
  drop-at-subscribe  close on 5 like `close`, accept 3.1.1, then close the connection on its
          SUBSCRIBE, unacknowledged (a RabbitMQ node whose cluster keeps the session's queue on a
          node that is down).
With retained messages (fleetctl forget): the broker holds fleet/mason/status (retained, offline)
from the start, sends a retained message to a SUBSCRIBE of its exact topic, and an empty retained
PUBLISH deletes it; close on 5 like `close`:
  no-puback         never acknowledges nor applies a PUBLISH (a broker that stalls);
  drop-publish-once closes the connection at the first QoS 1 PUBLISH it gets, unacknowledged and
                    not applied (a connection lost by chance), and takes every later one;
  drop-publish      closes the connection at every QoS 1 PUBLISH (RabbitMQ denying it).
It accepts level 4, acknowledges SUBSCRIBE and QoS 1 PUBLISH, answers PINGREQ, and writes what it
saw to the events file. Test fixture only."""
import socket
import sys
import threading

port, events_path = int(sys.argv[1]), sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "refuse"
events = open(events_path, "a", buffering=1)
retaining = mode in ("no-puback", "drop-publish-once", "drop-publish")
lock = threading.Lock()
retained = {
    "fleet/mason/status": b'{"v":1,"state":"offline","reason":"shutdown","boot_id":"0123456789abcdef0123456789abcdef","ts":"2026-01-01T00:00:00Z"}'
} if retaining else {}
dropped = [0]


def encode_length(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def subscribe_with_retained(conn, body):
    """SUBACK with one code per filter, then the retained message of each exact topic."""
    topics, at = [], 2
    while at < len(body):
        length = int.from_bytes(body[at:at + 2], "big")
        topics.append(body[at + 2:at + 2 + length].decode())
        at += 3 + length
    conn.sendall(bytes([0x90]) + encode_length(2 + len(topics)) + body[0:2] + bytes([0x00] * len(topics)))
    for topic in topics:
        with lock:
            payload = retained.get(topic)
        if payload is not None:
            name = topic.encode()
            rest = len(name).to_bytes(2, "big") + name + payload
            conn.sendall(bytes([0x31]) + encode_length(len(rest)) + rest)


def publish_with_retained(conn, kind, body):
    """The retained modes' PUBLISH: dropped, unanswered or applied as the mode says."""
    qos = (kind >> 1) & 3
    topic_length = int.from_bytes(body[0:2], "big")
    topic = body[2:2 + topic_length].decode()
    payload = body[2 + topic_length + (2 if qos else 0):]
    events.write(f"PUBLISH {topic} ({len(payload)} bytes)\n")
    if qos == 1 and (mode == "drop-publish" or (mode == "drop-publish-once" and dropped[0] == 0)):
        dropped[0] += 1
        events.write(f"dropped at PUBLISH {topic}\n")
        return False
    if kind & 1 and mode != "no-puback":
        with lock:
            if payload:
                retained[topic] = payload
            else:
                retained.pop(topic, None)
    if qos == 1 and mode != "no-puback":
        conn.sendall(bytes([0x40, 0x02]) + body[2 + topic_length:4 + topic_length])
    return True


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_packet(conn):
    first = read_exact(conn, 1)[0]
    length, shift = 0, 0
    while True:
        byte = read_exact(conn, 1)[0]
        length += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return first, read_exact(conn, length)


def serve(conn):
    try:
        kind, body = read_packet(conn)
        if kind >> 4 != 1:
            return
        name_length = int.from_bytes(body[0:2], "big")
        level = body[2 + name_length]
        if level != 4:
            events.write(f"refused level {level}\n")
            if mode == "refuse":
                conn.sendall(bytes([0x20, 0x02, 0x00, 0x01]))
            elif mode == "silent":
                # Holds the connection until the client gives up on it.
                while conn.recv(1024):
                    pass
            return
        events.write("accepted level 4\n")
        conn.sendall(bytes([0x20, 0x02, 0x00, 0x00]))
        while True:
            kind, body = read_packet(conn)
            packet_type = kind >> 4
            if packet_type == 8 and mode == "drop-at-subscribe":
                events.write("dropped at SUBSCRIBE\n")
                return
            if retaining and packet_type == 8:
                subscribe_with_retained(conn, body)
            elif retaining and packet_type == 3:
                if not publish_with_retained(conn, kind, body):
                    return
            elif packet_type == 8:  # SUBSCRIBE
                conn.sendall(bytes([0x90, 0x03]) + body[0:2] + bytes([0x01]))
            elif packet_type == 3:  # PUBLISH
                topic_length = int.from_bytes(body[0:2], "big")
                topic = body[2:2 + topic_length].decode()
                events.write(f"PUBLISH {topic}\n")
                if (kind >> 1) & 3 == 1:
                    packet_id = body[2 + topic_length:4 + topic_length]
                    conn.sendall(bytes([0x40, 0x02]) + packet_id)
            elif packet_type == 12:  # PINGREQ
                conn.sendall(bytes([0xD0, 0x00]))
            elif packet_type == 14:  # DISCONNECT
                return
    except (EOFError, ConnectionError):
        pass
    finally:
        conn.close()


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(8)
while True:
    connection, _ = server.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
