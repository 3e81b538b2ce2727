package storage

// XORMask is xorMask, for the tests of package storage_test.
var XORMask = xorMask
