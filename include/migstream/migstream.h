/* SPDX-License-Identifier: MIT */
/* migstream: read, check, compare and convert QEMU migration streams. */
#ifndef MIGSTREAM_H
#define MIGSTREAM_H

#include "migstream/error.h"
#include "migstream/reader.h"
#include "migstream/state.h"
#include "migstream/stream.h"
#include "migstream/vmdesc.h"
#include "migstream/output.h"
#include "migstream/ram.h"

#define MIGSTREAM_VERSION "0.1.0"

#endif
