package storage_test

import (
	"testing"

	"github.com/xaad-dev/xaad/storage"
	"github.com/xaad-dev/xaad/storage/storagetest"
)

func TestDBConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return storagetest.MustOpen(t) })
}

func TestMemConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Store { return storage.NewMem() })
}
