/* Thrust on the simulated card: sort and reduce of device_vectors, checked on the host. */
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>
#include <thrust/reduce.h>
#include <thrust/sort.h>

#include <algorithm>
#include <vector>

#include "check.h"

int main()
{
    const int n = 1000;
    std::vector<int> host(n);
    unsigned seed = 12345;
    long long expected_sum = 0;
    for (int i = 0; i < n; ++i) {
        seed = seed * 1103515245u + 12345u;
        host[i] = (int)((seed >> 8) % 20001) - 10000;
        expected_sum += host[i];
    }
    thrust::device_vector<int> d(host.begin(), host.end());
    long long sum = thrust::reduce(d.begin(), d.end(), 0LL, thrust::plus<long long>());
    EXPECT(sum == expected_sum);

    thrust::sort(d.begin(), d.end());
    thrust::host_vector<int> sorted = d;
    std::vector<int> reference = host;
    std::sort(reference.begin(), reference.end());
    for (int i = 0; i < n; ++i)
        EXPECT(sorted[i] == reference[i]);

    int maximum = thrust::reduce(d.begin(), d.end(), -100000, thrust::maximum<int>());
    EXPECT(maximum == reference[n - 1]);
    CUDA_OK(cudaDeviceSynchronize());
    return test_passed();
}
