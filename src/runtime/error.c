/* weft_strerror: names weft's own codes, and errno values as strerror does. */
#include <string.h>

#include "weft/error.h"

static const char *const weft_messages[] = {
    [WEFT_ECLOSED - WEFT_ERROR_FIRST] = "Closed: the other side is gone",
    [WEFT_ELAGGED - WEFT_ERROR_FIRST] = "Receiver lagged behind and missed messages",
    [WEFT_ENOTFOUND - WEFT_ERROR_FIRST] = "Host name not found",
    [WEFT_ENOADDRESS - WEFT_ERROR_FIRST] = "Host name has no address of the requested family",
    [WEFT_ENOSERVICE - WEFT_ERROR_FIRST] = "Service name not known",
    [WEFT_ERESOLVER_AGAIN - WEFT_ERROR_FIRST] = "Name servers unreachable; try again later",
    [WEFT_ERESOLVER_FAIL - WEFT_ERROR_FIRST] = "Name resolution failed",
    [WEFT_EEMPTY - WEFT_ERROR_FIRST] = "Nothing to wait for",
    [WEFT_ENOTHREAD - WEFT_ERROR_FIRST] = "No thread could be started for blocking work",
    [WEFT_ETRUNCATED - WEFT_ERROR_FIRST] = "The stream ended in the middle of a frame",
    [WEFT_ETLS_VERIFY - WEFT_ERROR_FIRST] = "TLS: peer certificate verification failed",
    [WEFT_ETLS_HANDSHAKE - WEFT_ERROR_FIRST] = "TLS: handshake failed",
    [WEFT_ETLS_ALERT - WEFT_ERROR_FIRST] = "TLS: the peer aborted the connection with an alert",
    [WEFT_ETLS_PROTOCOL - WEFT_ERROR_FIRST] = "TLS: protocol violation by the peer",
    [WEFT_ETLS_TRUNCATED - WEFT_ERROR_FIRST] = "TLS: connection ended without close_notify (truncated)",
    [WEFT_ETLS_CONFIG - WEFT_ERROR_FIRST] = "TLS: certificate, key or configuration rejected",
};

const char *weft_strerror(int err) {
    if (err < 0) err = -err;
    if (err >= WEFT_ERROR_FIRST && err <= WEFT_ERROR_LAST) return weft_messages[err - WEFT_ERROR_FIRST];
    /* strerror's buffer for unknown values is thread-local in glibc. */
    return strerror(err);
}
