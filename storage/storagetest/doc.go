// Package storagetest checks that a storage.Store behaves as the contract in
// package storage says, and helps tests open a throwaway database.
//
// Run the suite against every implementation:
//
//	storagetest.Run(t, func(t *testing.T) storage.Store { return storage.NewMem() })
package storagetest
