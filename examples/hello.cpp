// hello.cpp -- libtextdiff from C++: the header is plain C with extern "C" guards.
//
//   c++ hello.cpp $(pkg-config --cflags --libs libtextdiff) -o hello_cpp && ./hello_cpp
#include <cstdio>
#include <string>

#include <libtextdiff.h>

int main()
{
    const std::string version = tdiff_version_string();
    if (tdiff_version_number() / 10000 != TDIFF_VERSION_MAJOR) {
        std::fprintf(stderr, "header and library major versions differ\n");
        return 1;
    }
    tdiff_isa isa = TDIFF_ISA_AUTO;
    const tdiff_status st = tdiff_isa_self_check(nullptr, &isa);
    std::printf("libtextdiff %s from C++, SIMD %s, self-check %s\n", version.c_str(), tdiff_isa_to_string(isa),
                tdiff_status_string(st));
    return st == TDIFF_OK ? 0 : 1;
}
