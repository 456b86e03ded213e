(module binary "\00asm" "\01\00\00\00")
