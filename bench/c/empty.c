/* empty.c - the reference of bench/startup.py: a C program that only starts and exits. */
#include <stdio.h>

int main(void)
{
    printf("RESULT cards -1\n");
    return 0;
}
