/* transition_cols.h - the columns of a stored transition, in one list.
 *
 * X(name, ctype, width, kind, ranged, lo, hi, doc)
 *   ctype   element type in memory (float, int32_t, uint32_t)
 *   width   elements per transition: obs_dim or 1 (DQ_COL_WIDTH(width, d))
 *   kind    wire encoding: f32 (msgpack bin of little-endian float32), i32 or
 *           u32 (msgpack array of uints); also the suffix of the codec's
 *           per-kind helpers
 *   ranged  f32: 0 = any finite value, 1 = finite and within [lo, hi];
 *           i32/u32: always within [lo, hi] (lo is 0: the wire carries uints)
 *   doc     what the column holds
 * Generated from this list: the columns of dq_batch_t (wire.h), dq_batch_alloc
 * / free / pack / unpack, the codec's encoder, decoder and validator (wire*.c),
 * and the replay table's storage, copies and checkpoint section (table.c). The
 * order of the rows is the order of the columns in INSERT / ITEMS maps (docs/
 * protocol.md) and in the table section of a replay checkpoint (docs/replay.md).
 *
 * The optional initial priority of an INSERT is not a row: it is never stored
 * as a column (the table turns it into a sum-tree leaf) and never sent in ITEMS.
 */
#ifndef DQ_TRANSITION_COLS_H
#define DQ_TRANSITION_COLS_H

#include <stddef.h>
#include <stdint.h>

/* clang-format off */
#define DQ_TRANSITION_COLS(X)                                                     \
    X(obs, float, obs_dim, f32, 0, 0, 0, "observation the action was chosen in")  \
    X(next_obs, float, obs_dim, f32, 0, 0, 0, "observation n steps later")        \
    X(action, int32_t, 1, i32, 1, 0, INT32_MAX, "action taken")                   \
    X(reward, float, 1, f32, 0, 0, 0, "n-step discounted return")                 \
    X(discount, float, 1, f32, 1, 0, 1, "gamma^n, 0 if the episode ended inside") \
    X(epsilon, float, 1, f32, 1, 0, 1, "exploration parameter of the action")     \
    X(version, uint32_t, 1, u32, 1, 0, UINT32_MAX, "weights version of the acting policy")
/* clang-format on */

/* Elements per transition of a column of the given width token. */
#define DQ_COL_WIDTH(width, obs_dim) DQ_COL_WIDTH_##width(obs_dim)
#define DQ_COL_WIDTH_obs_dim(d) ((size_t)(d))
#define DQ_COL_WIDTH_1(d) ((size_t)1)

/* Every element is 32 bits wide, so a transition packs into float slots
 * (dq_batch_pack) and dq_transition_bytes is 4 * dq_transition_floats. */
#define DQ_COL_IS_32BIT_(name, ctype, width, kind, ranged, lo, hi, doc) \
    _Static_assert(sizeof(ctype) == 4, "column " #name " is not 32 bits wide");

#endif
