// Stored password hashes: which forms are understood, how each verifies, and
// a full check of a hash before it is stored. Internal to storage/; the
// public entry points are VerifyPassword, IsSupportedHash and
// ValidatePasswordHash in storage/store.h.
//
// Forms (a Dovecot {SCHEME} prefix is optional for crypt(3) strings):
//   crypt(3): $y$ $gy$ $7$ (yescrypt), $2a$ $2b$ $2y$ (bcrypt), $6$ $5$
//             (SHA-crypt), $1$ (MD5-crypt); {CRYPT} {SHA512-CRYPT}
//             {SHA256-CRYPT} {BLF-CRYPT} {BCRYPT} {MD5-CRYPT} {MD5}
//   Argon2:   $argon2id$ $argon2i$ (libargon2); {ARGON2ID} {ARGON2I}
//   digests:  {SSHA512} {SSHA256} {SSHA} (base64 of digest + salt),
//             {SHA512} {SHA256} {SHA} {SHA1} (base64 of the digest)
//   clear:    {PLAIN} {CLEARTEXT}
//
// Pure functions; any thread.
#pragma once

#include <string_view>

#include "common/status.h"

namespace pillarbox::storage::hashes {

// Cheap: the form is known and its parts have the right shape and lengths
// (no hashing). For the writer thread.
Status CheckShape(std::string_view stored);

// CheckShape, then for crypt(3) and Argon2 a probe: hashing a probe password
// with the hash as setting must give a well-formed hash of the same scheme
// and length (a truncated or garbled setting fails). Costs one hashing.
Status Validate(std::string_view stored);

// True when `password` matches `stored` (false for any unknown form).
bool Verify(std::string_view password, std::string_view stored);

}  // namespace pillarbox::storage::hashes
