"""The blob contract, without cffi: the integer model (intmodel), the .esnn reader and
writer (blob), the memory plan (plan), the numpy reference of the integer arithmetic
(reference, arrayops) and input quantisation (inputs). Every other room builds on it."""
