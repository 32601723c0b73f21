/*
 * json.h — the one JSON check the service needs: is this text one JSON
 * value (RFC 8259), and is it an object? The service stores what clients
 * send as it is, so it only has to refuse what is not JSON.
 */
#ifndef SERVICE_JSON_H
#define SERVICE_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is exactly one JSON object, with optional whitespace
 * around it, nested at most 64 deep, and valid UTF-8 in its strings
 * (checked as bytes: no overlong forms, no surrogates). */
bool json_is_object(const char *s, size_t len);

#endif
