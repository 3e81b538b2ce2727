package schedule

// Jumped exposes Run's jump rule.
var Jumped = jumped
