/* What the file system takes from the Linux ABI work and the memory
 * manager: user-memory copies, random bytes, the address space. */
#pragma once
#include "arch/x86_64/usercopy.h"
#include "linux/random.h"
#include "linux/loader.h"
#include "mm/vm.h"
