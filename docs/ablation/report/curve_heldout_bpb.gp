# curve_heldout_bpb.gp - drawn by dqnlm-report from curve_heldout_bpb.dat; run: gnuplot curve_heldout_bpb.gp
set title 'Greedy policy on held-out instances (IQM across seeds, 95% CI)' noenhanced
set xlabel 'env steps' noenhanced
set ylabel 'final validation bits per byte (lower is better)' noenhanced
set key top right noenhanced
set grid
set style fill transparent solid 0.18 noborder
set terminal pngcairo size 960,600 font 'sans,11'
set output 'curve_heldout_bpb.png'
plot 'curve_heldout_bpb.dat' index 0 using 1:2:3:4 with yerrorbars pt 7 ps 0.6 lc 1 notitle, \
     'curve_heldout_bpb.dat' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc 1 title 'eps-0.1 (5 runs)', 'curve_heldout_bpb.dat' index 1 using 1:2:3:4 with yerrorbars pt 7 ps 0.6 lc 2 notitle, \
     'curve_heldout_bpb.dat' index 1 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc 2 title 'linear-decay (5 runs)', 'curve_heldout_bpb.dat' index 2 using 1:2:3:4 with yerrorbars pt 7 ps 0.6 lc 3 notitle, \
     'curve_heldout_bpb.dat' index 2 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc 3 title 'ez-greedy (5 runs)', 'curve_heldout_bpb.dat' index 3 using 1:2:3:4 with yerrorbars pt 7 ps 0.6 lc 4 notitle, \
     'curve_heldout_bpb.dat' index 3 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc 4 title 'boltzmann (5 runs)'
set terminal svg size 960,600 font 'sans,11' background '#ffffff'
set output 'curve_heldout_bpb.svg'
plot 'curve_heldout_bpb.dat' index 0 using 1:2:3:4 with yerrorbars pt 7 ps 0.6 lc 1 notitle, \
     'curve_heldout_bpb.dat' index 0 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc 1 title 'eps-0.1 (5 runs)', 'curve_heldout_bpb.dat' index 1 using 1:2:3:4 with yerrorbars pt 7 ps 0.6 lc 2 notitle, \
     'curve_heldout_bpb.dat' index 1 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc 2 title 'linear-decay (5 runs)', 'curve_heldout_bpb.dat' index 2 using 1:2:3:4 with yerrorbars pt 7 ps 0.6 lc 3 notitle, \
     'curve_heldout_bpb.dat' index 2 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc 3 title 'ez-greedy (5 runs)', 'curve_heldout_bpb.dat' index 3 using 1:2:3:4 with yerrorbars pt 7 ps 0.6 lc 4 notitle, \
     'curve_heldout_bpb.dat' index 3 using 1:2 with linespoints pt 7 ps 0.8 lw 2 lc 4 title 'boltzmann (5 runs)'
