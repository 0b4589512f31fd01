// torq/ops/snapshot_codec.hpp — a lossless JSON form of an operator Snapshot, the body of
// GET /api/snapshot: how a standalone dashboard process (torqd --role dashboard) reads the
// operator state of each role process it aggregates (docs/operator.md, "Standalone dashboard").
//
// Unlike the /api/* views (render.hpp), which are for people and torqctl, this form keeps every
// field exactly: USD amounts as raw UsdFixedPoint8 integers, latency histograms as their non-empty
// buckets with exact count, sum, min and max, counters, timestamps and the P&L series. The one
// exception: node endpoint URLs are redacted to scheme://host[:port] as everywhere else, so that
// credentials and API keys in them never leave the process. It carries
// "format": 1; a decoder refuses any other format, a malformed document or an inconsistent
// histogram with a message (never throws, never trusts sizes from the wire).
// Pure functions: thread-safe; they allocate their results.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "torq/ops/state.hpp"

namespace torq::ops {

inline constexpr int kSnapshotFormat = 1;

[[nodiscard]] std::string encode_snapshot(const Snapshot& s);
// nullopt with *error set when `body` is not a format-1 snapshot.
[[nodiscard]] std::optional<Snapshot> decode_snapshot(std::string_view body, std::string* error = nullptr);

}  // namespace torq::ops
