package snapshot

import (
	"crypto/sha256"
	"encoding/hex"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ChainIDs returns the OCI chain ID of every prefix of diffIDs:
// ChainID(L0) = DiffID(L0) and
// ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln)).
func ChainIDs(diffIDs []v1.Hash) []v1.Hash {
	ids := make([]v1.Hash, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			ids[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(ids[i-1].String() + " " + d.String()))
		ids[i] = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	}
	return ids
}
