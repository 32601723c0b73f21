/**
 * @file
 * weft.h — the whole public API of weft, an asynchronous runtime for C.
 */
#ifndef WEFT_H
#define WEFT_H

#include "weft/config.h"
#include "weft/error.h"
#include "weft/value.h"
#include "weft/poll.h"
#include "weft/waker.h"
#include "weft/context.h"
#include "weft/future.h"
#include "weft/coro.h"
#include "weft/combinator.h"
#include "weft/task.h"
#include "weft/runtime.h"
#include "weft/time.h"
#include "weft/io.h"
#include "weft/frame.h"
#include "weft/net.h"
#include "weft/resolver.h"
#include "weft/fs.h"
#include "weft/sync.h"
#include "weft/channel.h"
#include "weft/join_set.h"
#include "weft/fiber.h"
#include "weft/signal.h"
#include "weft/process.h"
#include "weft/cancel.h"
#include "weft/tracker.h"

#endif
