/*
 * wire.h — the bytes of ZooKeeper's election port (QuorumCnxManager +
 * FastLeaderElection, 3.8): the initial message a dialer writes, the frame
 * length rule, and the notification.  A pure codec: no sockets, no state, so
 * t/unit/fle-wire.c checks it against bytes captured from ZooKeeper.
 *
 * Every decoder takes untrusted bytes and either fills its result or refuses
 * with a reason; none reads past the length it is given.
 */
#ifndef FLE_WIRE_H
#define FLE_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* QuorumCnxManager.PROTOCOL_VERSION_V1 / _V2 (V2: several addresses). */
#define FLE_PROTOCOL_V1 ((int64_t)-65536)
#define FLE_PROTOCOL_V2 ((int64_t)-65535)
/* The longest address string of an initial message (QuorumCnxManager.maxBuffer). */
#define FLE_MAX_ADDRESS 2048
/* The longest frame a peer accepts (QuorumCnxManager.PACKETMAXSIZE). */
#define FLE_MAX_FRAME (512 * 1024)
/* Notification.CURRENTVERSION: the 44-byte header plus the config tail. */
#define FLE_NOTIFICATION_VERSION 2
#define FLE_NOTIFICATION_HEADER 44
/* QuorumPeer.OBSERVER_ID: a sender without a configured id. */
#define FLE_OBSERVER_ID INT64_MAX

/*
 * The initial message: protocol version (V1), sid, the length of and the
 * sender's election address "host:port".  It is sent in one write: a 3.8
 * receiver reads the address with one read() and refuses a short one.
 * Returns the bytes written to buf (cap >= 20 + strlen(addr)), or 0 when
 * addr is empty or longer than FLE_MAX_ADDRESS.
 */
size_t fle_initial_encode(uint8_t *buf, size_t cap, int64_t sid, const char *addr);

struct fle_initial {
    int64_t protocol;           /* V1, V2, or the sid itself (a pre-3.5 peer) */
    int64_t sid;
    char address[FLE_MAX_ADDRESS + 1];   /* "" for a pre-3.5 peer */
};

/*
 * Decode an initial message from the first len bytes a peer sent.
 * Returns the bytes it took (> 0) when whole, 0 when more bytes are needed,
 * or -1 with *why set when refused: a negative first long that is neither
 * V1 nor V2, an address length outside 1..FLE_MAX_ADDRESS, or an address
 * that is not host:port.  A first long >= 0 is a bare sid (8 bytes).
 */
int fle_initial_decode(const uint8_t *b, size_t len, struct fle_initial *out, const char **why);

/* A frame length as a receiver accepts it: 1..FLE_MAX_FRAME. */
int fle_frame_length_ok(int32_t len);

struct fle_notification {
    int32_t state;              /* the sender's ServerState ordinal (enum corral_peer_state) */
    int64_t leader;             /* proposed or current leader */
    int64_t zxid;               /* the proposed leader's last zxid */
    int64_t election_epoch;     /* the sender's logical clock */
    int64_t peer_epoch;         /* the proposed leader's epoch */
    int32_t version;            /* 0 (28/40-byte forms), 1, or 2 with a config */
    const uint8_t *config;      /* version > 1: the config text (not NUL-terminated) */
    int32_t config_len;
};

/* Bytes of n encoded (version 2 with its config): 44 + config_len. */
size_t fle_notification_size(const struct fle_notification *n);
/* Encode n as version 2 (n->version is ignored) into buf (fle_notification_size bytes). */
void fle_notification_encode(uint8_t *buf, const struct fle_notification *n);

/*
 * Decode one notification (a frame's payload), as FastLeaderElection's
 * WorkerReceiver reads it: 28 bytes (no peerEpoch: it is the zxid's epoch),
 * 40 bytes (no version), or 40+ with a version; a version above 1 carries
 * a config of 0..len bytes that must be there whole.  0, or -1 with *why
 * (too short, truncated, bad config length).  out->config points into b.
 * The state is not checked (an unknown one is the caller's to ignore).
 */
int fle_notification_decode(const uint8_t *b, size_t len, struct fle_notification *out,
                            const char **why);

#endif
