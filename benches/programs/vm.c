/* A bytecode interpreter: a stack machine with a switch over its opcodes in
 * a loop, which clang compiles to a WebAssembly br_table, running three
 * small guest programs (a prime sieve by trial division, a Collatz walk and
 * a GCD sum). Measures indirect branches and the loads and stores of the
 * guest's stack and locals, as in any interpreter compiled to wasm. */
#include "common.h"

enum {
    OP_HALT,
    OP_PUSH,  /* push imm */
    OP_LOAD,  /* push local[imm] */
    OP_STORE, /* local[imm] = pop */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV, /* unsigned; the programs never divide by zero */
    OP_REM,
    OP_AND,
    OP_SHR,
    OP_DUP,
    OP_SWAP,
    OP_DROP,
    OP_LT,  /* unsigned compare, pushes 0 or 1 */
    OP_EQ,
    OP_JMP, /* pc = imm */
    OP_JZ,  /* if pop == 0: pc = imm */
    OP_JNZ, /* if pop != 0: pc = imm */
    OP_INC, /* local[imm] += 1 */
    OP_ADDL, /* local[imm] += pop */
};

typedef struct {
    const int32_t *code;
    uint32_t locals[8];
} vm_t;

static uint32_t run(vm_t *vm) {
    uint32_t stack[64];
    int32_t sp = 0;
    int32_t pc = 0;
    const int32_t *code = vm->code;
    uint32_t *locals = vm->locals;
    uint32_t a, b;
    for (;;) {
        int32_t op = code[pc++];
        switch (op) {
        case OP_HALT:
            return sp > 0 ? stack[sp - 1] : 0;
        case OP_PUSH:
            stack[sp++] = (uint32_t)code[pc++];
            break;
        case OP_LOAD:
            stack[sp++] = locals[code[pc++]];
            break;
        case OP_STORE:
            locals[code[pc++]] = stack[--sp];
            break;
        case OP_ADD:
            b = stack[--sp];
            stack[sp - 1] += b;
            break;
        case OP_SUB:
            b = stack[--sp];
            stack[sp - 1] -= b;
            break;
        case OP_MUL:
            b = stack[--sp];
            stack[sp - 1] *= b;
            break;
        case OP_DIV:
            b = stack[--sp];
            stack[sp - 1] /= b;
            break;
        case OP_REM:
            b = stack[--sp];
            stack[sp - 1] %= b;
            break;
        case OP_AND:
            b = stack[--sp];
            stack[sp - 1] &= b;
            break;
        case OP_SHR:
            b = stack[--sp];
            stack[sp - 1] >>= (b & 31);
            break;
        case OP_DUP:
            stack[sp] = stack[sp - 1];
            sp++;
            break;
        case OP_SWAP:
            a = stack[sp - 1];
            stack[sp - 1] = stack[sp - 2];
            stack[sp - 2] = a;
            break;
        case OP_DROP:
            sp--;
            break;
        case OP_LT:
            b = stack[--sp];
            stack[sp - 1] = stack[sp - 1] < b;
            break;
        case OP_EQ:
            b = stack[--sp];
            stack[sp - 1] = stack[sp - 1] == b;
            break;
        case OP_JMP:
            pc = code[pc];
            break;
        case OP_JZ:
            pc = stack[--sp] == 0 ? code[pc] : pc + 1;
            break;
        case OP_JNZ:
            pc = stack[--sp] != 0 ? code[pc] : pc + 1;
            break;
        case OP_INC:
            locals[code[pc++]]++;
            break;
        case OP_ADDL:
            locals[code[pc]] += stack[--sp];
            pc++;
            break;
        default:
            printf("bad opcode %" PRId32 " at %" PRId32 "\n", op, pc - 1);
            exit(1);
        }
    }
}

/* A one-pass assembler with forward labels, so the guest programs below
 * read as code rather than as offsets. */
#define MAX_CODE 256
#define MAX_LABELS 16

typedef struct {
    int32_t code[MAX_CODE];
    int32_t len;
    int32_t label_at[MAX_LABELS];
    int32_t fixups[MAX_CODE]; /* positions holding a label number */
    int32_t n_fixups;
} asm_t;

static void op0(asm_t *a, int32_t op) { a->code[a->len++] = op; }

static void op1(asm_t *a, int32_t op, int32_t imm) {
    a->code[a->len++] = op;
    a->code[a->len++] = imm;
}

static void jump(asm_t *a, int32_t op, int32_t label) {
    a->code[a->len++] = op;
    a->fixups[a->n_fixups++] = a->len;
    a->code[a->len++] = label;
}

static void label(asm_t *a, int32_t label) { a->label_at[label] = a->len; }

static const int32_t *finish(asm_t *a) {
    for (int32_t i = 0; i < a->n_fixups; i++) {
        int32_t at = a->fixups[i];
        a->code[at] = a->label_at[a->code[at]];
    }
    return a->code;
}

/* Counts the primes below local 0 by trial division.
 * Locals: 0 limit, 1 count, 2 n, 3 d. */
static const int32_t *assemble_primes(asm_t *a) {
    enum { OUTER, INNER, PRIME, NEXT, DONE };
    op1(a, OP_PUSH, 2), op1(a, OP_STORE, 2);
    label(a, OUTER);
    op1(a, OP_LOAD, 2), op1(a, OP_LOAD, 0), op0(a, OP_LT), jump(a, OP_JZ, DONE);
    op1(a, OP_PUSH, 2), op1(a, OP_STORE, 3);
    label(a, INNER);
    /* n < d * d: prime */
    op1(a, OP_LOAD, 2), op1(a, OP_LOAD, 3), op1(a, OP_LOAD, 3), op0(a, OP_MUL), op0(a, OP_LT);
    jump(a, OP_JNZ, PRIME);
    /* n % d == 0: composite */
    op1(a, OP_LOAD, 2), op1(a, OP_LOAD, 3), op0(a, OP_REM), jump(a, OP_JZ, NEXT);
    op1(a, OP_INC, 3), jump(a, OP_JMP, INNER);
    label(a, PRIME);
    op1(a, OP_INC, 1);
    label(a, NEXT);
    op1(a, OP_INC, 2), jump(a, OP_JMP, OUTER);
    label(a, DONE);
    op1(a, OP_LOAD, 1), op0(a, OP_HALT);
    return finish(a);
}

/* Sums the Collatz path lengths of 1 .. local 0 - 1.
 * Locals: 0 limit, 1 total, 2 i, 3 x. */
static const int32_t *assemble_collatz(asm_t *a) {
    enum { OUTER, WALK, EVEN, NEXT, DONE };
    op1(a, OP_PUSH, 1), op1(a, OP_STORE, 2);
    label(a, OUTER);
    op1(a, OP_LOAD, 2), op1(a, OP_LOAD, 0), op0(a, OP_LT), jump(a, OP_JZ, DONE);
    op1(a, OP_LOAD, 2), op1(a, OP_STORE, 3);
    label(a, WALK);
    op1(a, OP_LOAD, 3), op1(a, OP_PUSH, 1), op0(a, OP_EQ), jump(a, OP_JNZ, NEXT);
    op1(a, OP_INC, 1);
    op1(a, OP_LOAD, 3), op1(a, OP_PUSH, 1), op0(a, OP_AND), jump(a, OP_JZ, EVEN);
    /* x = 3x + 1 */
    op1(a, OP_LOAD, 3), op0(a, OP_DUP), op0(a, OP_DUP), op0(a, OP_ADD), op0(a, OP_ADD);
    op1(a, OP_PUSH, 1), op0(a, OP_ADD), op1(a, OP_STORE, 3), jump(a, OP_JMP, WALK);
    label(a, EVEN);
    op1(a, OP_LOAD, 3), op1(a, OP_PUSH, 1), op0(a, OP_SHR), op1(a, OP_STORE, 3);
    jump(a, OP_JMP, WALK);
    label(a, NEXT);
    op1(a, OP_INC, 2), jump(a, OP_JMP, OUTER);
    label(a, DONE);
    op1(a, OP_LOAD, 1), op0(a, OP_HALT);
    return finish(a);
}

/* Sums gcd(i, j) by Euclid's algorithm for 1 <= i, j < local 0.
 * Locals: 0 limit, 1 sum, 2 i, 3 j, 4 a, 5 b. */
static const int32_t *assemble_gcds(asm_t *a) {
    enum { ROWS, COLS, EUCLID, FOUND, NEXT_ROW, DONE };
    op1(a, OP_PUSH, 1), op1(a, OP_STORE, 2);
    label(a, ROWS);
    op1(a, OP_LOAD, 2), op1(a, OP_LOAD, 0), op0(a, OP_LT), jump(a, OP_JZ, DONE);
    op1(a, OP_PUSH, 1), op1(a, OP_STORE, 3);
    label(a, COLS);
    op1(a, OP_LOAD, 3), op1(a, OP_LOAD, 0), op0(a, OP_LT), jump(a, OP_JZ, NEXT_ROW);
    op1(a, OP_LOAD, 2), op1(a, OP_STORE, 4), op1(a, OP_LOAD, 3), op1(a, OP_STORE, 5);
    label(a, EUCLID);
    op1(a, OP_LOAD, 5), jump(a, OP_JZ, FOUND);
    /* a, b = b, a % b */
    op1(a, OP_LOAD, 4), op1(a, OP_LOAD, 5), op0(a, OP_REM);
    op1(a, OP_LOAD, 5), op1(a, OP_STORE, 4), op1(a, OP_STORE, 5);
    jump(a, OP_JMP, EUCLID);
    label(a, FOUND);
    op1(a, OP_LOAD, 4), op1(a, OP_ADDL, 1);
    op1(a, OP_INC, 3), jump(a, OP_JMP, COLS);
    label(a, NEXT_ROW);
    op1(a, OP_INC, 2), jump(a, OP_JMP, ROWS);
    label(a, DONE);
    op1(a, OP_LOAD, 1), op0(a, OP_HALT);
    return finish(a);
}

/* The same three computations in C, to check the guest programs. */
static uint32_t native_primes(uint32_t limit) {
    uint32_t count = 0;
    for (uint32_t n = 2; n < limit; n++) {
        uint32_t d = 2;
        while (d * d <= n && n % d != 0)
            d++;
        count += d * d > n;
    }
    return count;
}

static uint32_t native_collatz(uint32_t limit) {
    uint32_t total = 0;
    for (uint32_t i = 1; i < limit; i++)
        for (uint32_t x = i; x != 1; total++)
            x = x & 1 ? 3 * x + 1 : x >> 1;
    return total;
}

static uint32_t native_gcds(uint32_t limit) {
    uint32_t sum = 0;
    for (uint32_t i = 1; i < limit; i++)
        for (uint32_t j = 1; j < limit; j++) {
            uint32_t a = i, b = j;
            while (b != 0) {
                uint32_t t = a % b;
                a = b;
                b = t;
            }
            sum += a;
        }
    return sum;
}

static asm_t primes_asm, collatz_asm, gcds_asm;

int main(int argc, char **argv) {
    int scale = scale_arg(argc, argv, 4);
    const int32_t *primes = assemble_primes(&primes_asm);
    const int32_t *collatz = assemble_collatz(&collatz_asm);
    const int32_t *gcds = assemble_gcds(&gcds_asm);
    uint64_t h = 0;
    for (int round = 0; round < scale; round++) {
        uint32_t primes_limit = 15000 + (uint32_t)round;
        uint32_t collatz_limit = 3000 + (uint32_t)round;
        uint32_t gcds_limit = 90 + (uint32_t)round;
        vm_t vm = {primes, {primes_limit}};
        uint32_t n_primes = run(&vm);
        vm = (vm_t){collatz, {collatz_limit}};
        uint32_t steps = run(&vm);
        vm = (vm_t){gcds, {gcds_limit}};
        uint32_t gcd_sum = run(&vm);
        if (round == 0) {
            printf("primes %" PRIu32 ", collatz steps %" PRIu32 ", gcd sum %" PRIu32 "\n", n_primes,
                   steps, gcd_sum);
            if (n_primes != native_primes(primes_limit) || steps != native_collatz(collatz_limit) ||
                gcd_sum != native_gcds(gcds_limit)) {
                printf("the guest programs disagree with C\n");
                return 1;
            }
        }
        h = mix(mix(mix(h, n_primes), steps), gcd_sum);
    }
    print_checksum("vm", h);
    return 0;
}
