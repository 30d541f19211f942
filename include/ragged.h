/* ragged — local-first retrieval-augmented generation.
 *
 * The public library interface (libragged.a).  It exposes the same pieces
 * the command-line tool is built from: configuration, embedders, the
 * storage interface with its backends, and the ingest pipeline.  Compile
 * with -I PREFIX/include/ragged and link with the libraries the Makefile's
 * PKGS name (pkg-config) plus -lstemmer -lm. */
#ifndef RAGGED_H
#define RAGGED_H

#define RAGGED_VERSION "0.1.0"

#include "error.h"
#include "config.h"
#include "embedder.h"
#include "filter.h"
#include "store.h"
#include "reader.h"
#include "ingest.h"

#endif
