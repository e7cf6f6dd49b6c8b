/*
 * server/net.h — listening TCP sockets.
 */
#ifndef TTS_SERVER_NET_H
#define TTS_SERVER_NET_H

#include <stddef.h>

/* Opens a non-blocking, close-on-exec TCP socket listening on host:port: host a numeric
 * IPv4 or IPv6 address or a name that resolves to one ("localhost"), port 0 .. 65535 (0:
 * one the kernel picks). Returns the descriptor and the port bound in *bound, or -1 with a
 * message in err such as "cannot listen on 127.0.0.1:5002: Address already in use". */
int srv_listen(const char *host, int port, int *bound, char *err, size_t errlen);

#endif
