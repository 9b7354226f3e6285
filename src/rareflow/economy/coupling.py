"""The intermediate-flow matrix Z, cut into per-input-sector blocks, and the two products the
ARIO step needs from it, for all draws at once.

Industries are region-major (``i = r * S + s``, as pymrio orders them). ``Zs[s]`` holds the
rows of the industries of sector ``s`` (shape (R, N)): the flows that input ``s`` sends from
each region to every industry. With ``v`` (S, D, R) and ``w`` (S, D, N):

- ``aggregate(v)[s, d, j] = sum_r v[s, d, r] * Zs[s, r, j]``   (S, D, N)
- ``rowdot(w)[s, d, r]   = sum_j Zs[s, r, j] * w[s, d, j]``     (S, D, R)

Both are matrix products over the draws (batched BLAS for a dense table; for a sparse one, one
scipy.sparse product with the block-diagonal of the sectors' blocks), so their cost is nnz(Z) x D and the (N, N) orders matrix of BoARIO
is never formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

SPARSE_BELOW = 0.25  # density under which Z is kept sparse


@dataclass(frozen=True)
class Coupling:
    """Z's per-sector blocks: dense (S, R, N) or a list of S sparse CSR (R, N)."""

    regions: int
    sectors: int
    dense: np.ndarray | None  # (S, R, N)
    dense_t: np.ndarray | None  # (S, N, R), contiguous, for rowdot
    dense_sum: np.ndarray | None  # (S, N): sum over regions of dense, what v = 1 aggregates to
    blocks: sp.csr_matrix | None  # block-diagonal (S R, S N) of the sectors' rows, when sparse
    blocks_t: sp.csr_matrix | None  # its transpose (S N, S R)
    dense_rowsum: np.ndarray | None = None  # (S, R): sum over industries of dense, Zs 1

    def baseline_rowdot(self, w: np.ndarray) -> np.ndarray:
        """``rowdot(w)`` as ``Zs 1 + rowdot(w - 1)`` on a dense table: the baseline (w = 1)
        part exact in float64 whatever the dtype of Z and w. (S, D, N) -> (S, D, R)."""
        if self.dense_rowsum is None:
            return self.rowdot(w)
        return self.dense_rowsum[:, None, :] + self.rowdot(w - 1)

    @property
    def sparse(self) -> bool:
        return self.dense is None

    @property
    def dtype(self) -> np.dtype:
        """Of Z's blocks: float64 unless ``ario.cast`` made them float32."""
        held = self.dense if self.dense is not None else self.blocks
        assert held is not None
        return np.dtype(held.dtype)

    def aggregate(self, v: np.ndarray) -> np.ndarray:
        """(S, D, R) -> (S, D, N)."""
        if self.dense is not None:
            return np.matmul(v, self.dense)
        assert self.blocks_t is not None
        s, d, r = v.shape
        stacked = np.ascontiguousarray(v.transpose(0, 2, 1)).reshape(s * r, d)  # (S R, D)
        out = self.blocks_t @ stacked  # (S N, D): one sparse product for every sector
        return np.ascontiguousarray(out.reshape(s, -1, d).transpose(0, 2, 1))

    def rowdot(self, w: np.ndarray) -> np.ndarray:
        """(S, D, N) -> (S, D, R)."""
        if self.dense_t is not None:
            return np.matmul(w, self.dense_t)
        assert self.blocks is not None
        s, d, n = w.shape
        stacked = np.ascontiguousarray(w.transpose(0, 2, 1)).reshape(s * n, d)  # (S N, D)
        out = self.blocks @ stacked  # (S R, D)
        return np.ascontiguousarray(out.reshape(s, -1, d).transpose(0, 2, 1))


def coupling(z: np.ndarray | sp.spmatrix, regions: int, sectors: int) -> Coupling:
    """Cut Z (N, N), dense or sparse, into per-sector blocks; sparse when under
    ``SPARSE_BELOW`` of it is nonzero."""
    n = regions * sectors
    if sp.issparse(z):
        csr = sp.csr_matrix(z)
        density = csr.nnz / max(n * n, 1)
        if density >= SPARSE_BELOW:
            return coupling(csr.toarray(), regions, sectors)
        rows = np.arange(n).reshape(regions, sectors)
        blocks = sp.block_diag([csr[rows[:, s]] for s in range(sectors)], format="csr")
        return Coupling(regions, sectors, None, None, None, blocks, sp.csr_matrix(blocks.T))
    dense = np.asarray(z, dtype=np.float64)
    if np.count_nonzero(dense) / max(n * n, 1) < SPARSE_BELOW:
        return coupling(sp.csr_matrix(dense), regions, sectors)
    per_sector = np.ascontiguousarray(dense.reshape(regions, sectors, n).transpose(1, 0, 2))
    return Coupling(
        regions,
        sectors,
        per_sector,
        np.ascontiguousarray(per_sector.transpose(0, 2, 1)),
        per_sector.sum(axis=1),
        None,
        None,
        per_sector.sum(axis=2),
    )


def to_sdr(x: np.ndarray, regions: int, sectors: int) -> np.ndarray:
    """Per-industry (D, N) -> per-sector blocks (S, D, R)."""
    return np.ascontiguousarray(x.reshape(len(x), regions, sectors).transpose(2, 0, 1))


def from_sdr(x: np.ndarray) -> np.ndarray:
    """(S, D, R) -> (D, N), region-major."""
    s, d, r = x.shape
    return np.ascontiguousarray(x.transpose(1, 2, 0)).reshape(d, r * s)
