// File: simulations/mpi_run.h
//
// `fedge-sim run SCENARIO --mpi` under mpirun (simulations/README.md, "Over
// MPI"): rank 0 runs the scenario as fedge-sim always does and sends part
// of every cohort's training to the other ranks (simulations/
// remote_training.h); the other ranks load the same scenario and training
// set and train what they are sent until rank 0 is done.
//
// Part of the fedge-sim binary (MPI stays out of the libraries).
#ifndef FEDGE_SIMULATIONS_MPI_RUN_H_
#define FEDGE_SIMULATIONS_MPI_RUN_H_

#include "simulations/simulator.h"
#include "simulations/variants.h"

namespace fedge {

// Runs `set` on this MPI rank; returns the process exit code (0, 1 for a
// failed run, 2 for a refused one) after printing any error to stderr.
// One scenario at a time: a set with variants is refused (use --variant).
int RunScenarioSetOverMpi(const ScenarioSet& set, RunOptions options);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_MPI_RUN_H_
