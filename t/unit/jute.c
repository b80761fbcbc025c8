/* placeholder: the jute unit test lands with the zk transport */
#include "tap.h"
int main(void){ ok(1, "placeholder"); return done_testing(); }
